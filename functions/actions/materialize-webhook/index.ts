/**
 * Materialize-Webhook: an actions-core destination for Materialize webhook sources, on the same
 * delivery core as the Segment function (functions/delivery/). Ready to be proposed to
 * segmentio/action-destinations (packages/destination-actions/src/destinations/materialize-webhook).
 */
import type { DestinationDefinition } from '@segment/actions-core';
import type { Settings } from './generated-types.ts';
import send from './send/index.ts';

const destination: DestinationDefinition<Settings> = {
  // No spaces or underscores: recent fast-uri rejects them in the generated schema ids.
  name: 'Materialize-Webhook',
  slug: 'actions-materialize-webhook',
  mode: 'cloud',
  description: 'Send Segment events to a Materialize webhook source, each request signed with an HMAC of its exact body.',
  authentication: {
    scheme: 'custom',
    fields: {
      webhookUrl: {
        label: 'Webhook URL',
        description: 'The Materialize webhook source URL: https://<host>/api/webhook/<database>/<schema>/<source>.',
        type: 'string',
        format: 'uri',
        required: true,
      },
      sharedSecret: {
        label: 'Shared secret',
        description: "The secret the webhook source's CHECK verifies the signature with.",
        type: 'password',
        required: true,
      },
      signatureHeader: { label: 'Signature header', description: 'Header carrying the signature.', type: 'string', default: 'X-Signature' },
      signatureAlgorithm: { label: 'Signature algorithm', description: 'HMAC algorithm, as in the CHECK.', type: 'string', choices: [
          { value: 'sha1', label: 'SHA-1' },
          { value: 'sha256', label: 'SHA-256' },
        ], default: 'sha1' },
      signatureEncoding: { label: 'Signature encoding', description: 'Encoding of the signature, as in the CHECK.', type: 'string', choices: [
          { value: 'hex', label: 'hex' },
          { value: 'base64', label: 'base64' },
        ], default: 'hex' },
    },
  },
  actions: { send },
};

export default destination;
