// Charts for the benches' time series: a Vega-Lite spec compiled and rendered to SVG on the
// server (no browser, no canvas), so a bench run leaves a picture the README can link.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One panel of a stacked chart: the series plotted as lines against `x`. */
export interface ChartPanel {
  title: string;
  /** Fields of each row drawn in this panel, one line each. */
  fields: string[];
  /** Axis title for the panel's y values. */
  unit: string;
}

export interface TimeSeriesChart {
  title: string;
  /** The x field of every row (seconds since the run started, for example). */
  x: { field: string; title: string };
  panels: ChartPanel[];
  rows: Record<string, number | null>[];
  /** Vertical rules marking events (a burst starting, a rollback), drawn on every panel. */
  marks?: { at: number; label: string }[];
}

/** The Vega-Lite spec of a chart: panels stacked vertically, sharing the x axis. */
export function timeSeriesSpec(chart: TimeSeriesChart): TopLevelSpec {
  // Events at the same second share one rule and one label, so their texts do not overprint.
  const byAt = new Map<number, string[]>();
  for (const m of chart.marks ?? []) byAt.set(m.at, [...(byAt.get(m.at) ?? []), m.label]);
  const marks = [...byAt].map(([at, labels]) => ({ at, label: labels.join(' / ') }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.title,
    config: { font: 'sans-serif', view: { stroke: null } },
    vconcat: chart.panels.map((panel) => ({
      width: 640,
      height: 140,
      title: panel.title,
      layer: [
        {
          data: { values: chart.rows },
          transform: [{ fold: panel.fields, as: ['series', 'value'] }],
          mark: { type: 'line', interpolate: 'step-after', point: false },
          encoding: {
            x: { field: chart.x.field, type: 'quantitative', title: chart.x.title },
            y: { field: 'value', type: 'quantitative', title: panel.unit },
            color: { field: 'series', type: 'nominal', title: null },
          },
        },
        ...(marks.length > 0
          ? [
              {
                data: { values: marks },
                mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' },
                encoding: { x: { field: 'at', type: 'quantitative' as const } },
              },
              {
                data: { values: marks },
                mark: { type: 'text' as const, align: 'left' as const, dx: 3, dy: -60, fontSize: 9, color: '#555' },
                encoding: { x: { field: 'at', type: 'quantitative' as const }, text: { field: 'label' } },
              },
            ]
          : []),
      ],
    })),
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

/** Renders the chart to an SVG string. */
export async function renderSvg(chart: TimeSeriesChart): Promise<string> {
  const { spec } = compile(timeSeriesSpec(chart));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes the chart as SVG to `path` (folders created) and returns the path. */
export async function writeChart(path: string, chart: TimeSeriesChart): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, await renderSvg(chart));
  return path;
}
