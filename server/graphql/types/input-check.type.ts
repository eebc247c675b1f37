import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';
import type { GuardReport } from '../../ml/guard/input-guard.js';

export enum InputCheckStatus {
  PASSED = 'passed',
  OFF = 'off',
}

registerEnumType(InputCheckStatus, {
  name: 'InputCheckStatus',
  description: 'Whether the image was checked before it was classified. Images that fail are refused with the error code UNSUITABLE_IMAGE.',
  valuesConfig: {
    PASSED: { description: 'Resolution, sharpness, exposure and likeness to the training images were checked and passed.' },
    OFF: { description: 'The model version was saved without input-guard data: nothing was checked (see note).' },
  },
});

@ObjectType({ description: 'What the input guard measured on an image it let through.' })
export class InputCheck {
  @Field(() => InputCheckStatus)
  status!: InputCheckStatus;

  @Field(() => String, { nullable: true })
  note!: string | null;

  @Field(() => Float, { nullable: true, description: "Distance of the image's embedding to the training images' (about 1 for a typical training image)." })
  distance!: number | null;

  @Field(() => Float, { nullable: true, description: 'Largest accepted distance, fitted at training time.' })
  maxDistance!: number | null;

  @Field(() => Float, { nullable: true, description: "Distance of the image's colour, tone and edge statistics to the training images'." })
  appearanceDistance!: number | null;

  @Field(() => Float, { nullable: true, description: 'Largest accepted appearance distance, fitted at training time.' })
  maxAppearanceDistance!: number | null;

  @Field(() => Float, { description: 'log10(1 + variance of the Laplacian) of the model input: low = blurred.' })
  sharpness!: number;

  @Field(() => Float, { description: 'Median absolute Laplacian of the model input: high = noise, grain or print.' })
  texture!: number;

  @Field(() => Float, { description: "Correlation of each pixel's luminance with its neighbours': low = noise." })
  smoothness!: number;

  @Field(() => Float, { description: 'Share of blown-out white pixels.' })
  highlights!: number;

  @Field(() => Float, { description: 'Share of black pixels.' })
  shadows!: number;

  @Field(() => Float, { description: 'Mean luminance, 0..255.' })
  brightness!: number;

  static from(g: GuardReport): InputCheck {
    return {
      status: g.status as InputCheckStatus,
      note: g.note,
      distance: g.distance,
      maxDistance: g.maxDistance,
      appearanceDistance: g.appearanceDistance,
      maxAppearanceDistance: g.maxAppearanceDistance,
      sharpness: g.quality.sharpness,
      texture: g.quality.texture,
      smoothness: g.quality.smoothness,
      highlights: g.quality.highlights,
      shadows: g.quality.shadows,
      brightness: g.quality.brightness,
    };
  }
}
