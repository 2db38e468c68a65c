// The settings and payload types, as action-destinations' `./generate-types` would write them.

export interface Settings {
  /** The Materialize webhook source URL: https://<host>/api/webhook/<database>/<schema>/<source>. */
  webhookUrl: string;
  /** The secret the webhook source's CHECK verifies the signature with. */
  sharedSecret: string;
  /** Header carrying the signature (default X-Signature). */
  signatureHeader?: string;
  /** sha1 (default) or sha256, as in the CHECK. */
  signatureAlgorithm?: string;
  /** hex (default) or base64, as in the CHECK. */
  signatureEncoding?: string;
}

export interface Payload {
  /** The event to forward (the whole Segment event by default). */
  event: { [k: string]: unknown };
  /** Send batches as one signed JSON array (the source must be BODY FORMAT JSON ARRAY). */
  enable_batching?: boolean;
  /** Largest batch to send at once. */
  batch_size?: number;
}
