import { Field, Int, ObjectType } from 'type-graphql';
import type { BackendInfo } from '../../ml/backend-info.js';

@ObjectType('Backend', { description: 'The tfjs backend computing predictions and training.' })
export class BackendType {
  @Field(() => String, { description: 'tensorflow (native), wasm or cpu.' })
  name!: string;

  @Field(() => Int)
  threads!: number;

  @Field(() => Boolean)
  simd!: boolean;

  @Field(() => String, { nullable: true, description: 'Why a preferred backend was not used.' })
  fallbackReason!: string | null;

  static from(info: BackendInfo): BackendType {
    return { name: info.name, threads: info.threads, simd: info.simd, fallbackReason: info.fallbackReason ?? null };
  }
}
