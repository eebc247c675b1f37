// Test-time augmentation: score an image under several of the symmetries a dermoscopic image
// has no preference between (flips and quarter turns) and average. Averaging views smooths out
// the network's sensitivity to orientation; their spread says how much it depends on it.
import { tf, type Tensor4D } from './tf.js';
import { calibrate } from './calibration.js';
import { testTimeViews, type TestTimeView } from './view-names.js';

export { isTestTimeView, singleView, testTimeViews, type TestTimeView } from './view-names.js';

/** `x` [n, h, w, c] seen under `view`. Caller disposes the result (it may be `x` itself for identity: use tf.tidy). */
export function viewOf(x: Tensor4D, view: TestTimeView): Tensor4D {
  switch (view) {
    case 'identity':
      return x;
    case 'flip-left-right':
      return tf.reverse(x, 2);
    case 'flip-up-down':
      return tf.reverse(x, 1);
    case 'rotate-180':
      return tf.reverse(x, [1, 2]);
    case 'transpose':
      return tf.transpose(x, [0, 2, 1, 3]);
    case 'rotate-90': // counter-clockwise
      return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 1);
    case 'rotate-270':
      return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 2);
    case 'anti-transpose':
      return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), [1, 2]);
  }
}

export interface ViewScores {
  /** Per image: the mean over views of the (calibrated) positive-class probability. */
  mean: Float32Array;
  /** `views[v][i]`: the (calibrated) probability of image i under view v, in the order asked for. */
  views: Float32Array[];
}

export interface ViewOptions {
  /** Default: all eight symmetries. */
  views?: readonly TestTimeView[];
  /** Applied to every view before averaging (see calibration.ts); default 1 = raw probabilities. */
  temperature?: number;
}

/**
 * Scores a batch `x` ([n, size, size, 3], values in [0, 1], as the model takes it) under each
 * view: one forward pass per view, no tensors left behind. `x` stays the caller's.
 */
export function predictViews(model: tf.LayersModel, x: Tensor4D, options: ViewOptions = {}): ViewScores {
  const views = options.views ?? testTimeViews;
  if (views.length === 0) throw new RangeError('predictViews needs at least one view');
  const temperature = options.temperature ?? 1;
  const n = x.shape[0];
  const perView = views.map((view) => {
    const p = tf.tidy(() => model.predict(viewOf(x, view)) as tf.Tensor);
    const raw = p.dataSync() as Float32Array;
    p.dispose();
    return temperature === 1 ? Float32Array.from(raw) : Float32Array.from(raw, (v) => calibrate(v, temperature));
  });
  const mean = new Float32Array(n);
  for (const scores of perView) for (let i = 0; i < n; i++) mean[i] += scores[i]! / perView.length;
  return { mean, views: perView };
}
