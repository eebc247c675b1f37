// The test-time views by name, without tensor code: the thread that handles requests combines
// views scored on several inference threads and must not load tfjs to do it.

/** The eight symmetries of a square. */
export const testTimeViews = ['identity', 'flip-left-right', 'flip-up-down', 'rotate-180', 'rotate-90', 'rotate-270', 'transpose', 'anti-transpose'] as const;
export type TestTimeView = (typeof testTimeViews)[number];

/** The image as it is: what scoring means without test-time augmentation. */
export const singleView: readonly TestTimeView[] = ['identity'];

export function isTestTimeView(name: string): name is TestTimeView {
  return (testTimeViews as readonly string[]).includes(name);
}

/** The views a stored version averages into its probability (just `identity` when it uses none). */
export function scoringViewsOf(metadata: { testTimeViews?: readonly string[] }): readonly TestTimeView[] {
  const views = metadata.testTimeViews?.filter(isTestTimeView) ?? [];
  return views.length > 0 ? views : singleView;
}
