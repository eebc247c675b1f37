// Chart.js parts the dashboard uses, registered once, and the shared look of every chart.
import { Chart, Filler, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(LinearScale, LineElement, PointElement, Tooltip, Legend, Filler);
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
Chart.defaults.color = '#55656f';
Chart.defaults.borderColor = '#e2e8ec';
Chart.defaults.plugins.legend.labels.boxWidth = 14;
Chart.defaults.plugins.legend.labels.boxHeight = 2;

/** Colours for series: one per compared model, in order. */
export const SERIES_COLOURS = ['#0e6a80', '#c2602a', '#6b4fa0', '#2f8a5b'];
export const REFERENCE_COLOUR = '#9aa7b2';

export type Point = { x: number; y: number };
