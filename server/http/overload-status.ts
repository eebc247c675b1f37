// A request refused only because the server is overloaded answers HTTP 503 with Retry-After, so
// load balancers and HTTP clients back off without parsing GraphQL errors. A response with any
// data or any other error keeps GraphQL's usual status.
import type { ApolloServerPlugin } from '@apollo/server';

export const OVERLOADED = 'OVERLOADED';
const RETRY_AFTER_SECONDS = '1';

export const overloadStatusPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const { data, errors } = response.body.singleResult;
        const onlyOverloaded = !!errors?.length && errors.every((e) => e.extensions?.code === OVERLOADED);
        if (!onlyOverloaded || (data && Object.values(data).some((v) => v !== null))) return;
        response.http.status = 503;
        response.http.headers.set('retry-after', RETRY_AFTER_SECONDS);
      },
    };
  },
};
