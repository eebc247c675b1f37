import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { Explanation as ExplanationResult } from '../../ml/explain/explanation.js';

@ObjectType({ description: "The Grad-CAM map at the resolution of the network's last convolutional block." })
export class ActivationMap {
  @Field(() => Int)
  width!: number;

  @Field(() => Int)
  height!: number;

  @Field(() => [Float], { description: 'Row-major, width x height values in [0, 1]; 1 is the strongest evidence.' })
  values!: number[];
}

@ObjectType({ description: 'The part of the image the model saw (its centred square crop), as fractions of the width and height.' })
export class CropRegion {
  @Field(() => Float)
  left!: number;

  @Field(() => Float)
  top!: number;

  @Field(() => Float)
  width!: number;

  @Field(() => Float)
  height!: number;
}

@ObjectType({ description: 'Which parts of the image drove the prediction (Grad-CAM over the last convolutional block).' })
export class Explanation {
  @Field(() => String, { description: 'grad-cam' })
  method!: string;

  @Field(() => String, { description: 'The layer whose feature maps were weighted (one per member of an ensemble, joined by '+').' })
  layer!: string;

  @Field(() => String, { description: 'The class whose evidence the map shows: the predicted one.' })
  explainedClass!: string;

  @Field(() => String, { description: 'PNG data URL: the image with the heatmap over it, at its own aspect ratio; outside the model crop it is dimmed.' })
  overlayPng!: string;

  @Field(() => String, { description: 'PNG data URL: the heatmap alone (transparent where there is no evidence), the same size as the overlay, to lay over the image.' })
  heatmapPng!: string;

  @Field(() => Int)
  width!: number;

  @Field(() => Int)
  height!: number;

  @Field(() => CropRegion)
  region!: CropRegion;

  @Field(() => ActivationMap)
  map!: ActivationMap;

  @Field(() => Float, { description: 'Time to compute and draw it, in milliseconds.' })
  ms!: number;

  /** `explainedClass`: the name of the class the map was computed for. */
  static from(e: ExplanationResult, explainedClass: string): Explanation {
    const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;
    return {
      method: e.method,
      layer: e.map.layer,
      explainedClass,
      overlayPng: dataUrl(e.overlayPng),
      heatmapPng: dataUrl(e.heatmapPng),
      width: e.width,
      height: e.height,
      region: { ...e.region },
      map: { width: e.map.width, height: e.map.height, values: Array.from(e.map.values) },
      ms: e.ms,
    };
  }
}
