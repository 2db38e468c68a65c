/** The `send` action: one event per request (perform), or one signed JSON array per batch (performBatch). */
import type { ActionDefinition, RequestClient } from '@segment/actions-core';
import { deliverBatch, deliverEvent, type DeliveryRuntime } from '../../../delivery/deliver.ts';
import { readSettings, SettingsError, type DeliverySettings } from '../../../delivery/settings.ts';
import { actionsCore } from '../../actions-core.ts';
import type { Payload, Settings } from '../generated-types.ts';

const { MultiStatusResponse, PayloadValidationError, RetryableError } = actionsCore;

/**
 * The delivery core on actions-core's request client and error classes. The client has its own
 * timeout (it combines signals with an AbortSignal of its own kind), so the core's is passed as that.
 */
function runtime(request: RequestClient, timeoutMs: number): DeliveryRuntime {
  return {
    fetch: async (url, init) => {
      const response = await request(url, { method: init.method, headers: init.headers, body: init.body, throwHttpErrors: false, timeout: timeoutMs });
      return { status: response.status, text: async () => (typeof response.content === 'string' ? response.content : '') };
    },
    sign: async (algorithm, encoding, secret, body) => {
      const { createHmac } = await import('node:crypto');
      return createHmac(algorithm, secret).update(body, 'utf8').digest(encoding);
    },
    errors: {
      RetryError: RetryableError as unknown as new (message: string) => Error,
      ValidationError: PayloadValidationError,
      InvalidEventPayload: PayloadValidationError,
    },
  };
}

function settingsFor(settings: Settings, batching: boolean): DeliverySettings {
  try {
    return readSettings({ ...settings, batching });
  } catch (error) {
    // Fixable misconfiguration: retried rather than dropped, as in the Segment function.
    if (error instanceof SettingsError) throw new RetryableError(`misconfigured destination: ${error.message}`);
    throw error;
  }
}

const action: ActionDefinition<Settings, Payload> = {
  title: 'Send events',
  description: 'Forward events to the Materialize webhook source, signed; batches as one JSON array.',
  defaultSubscription: 'type = "track" or type = "page" or type = "identify" or type = "screen" or type = "group" or type = "alias"',
  fields: {
    event: {
      label: 'Event',
      description: 'The event to forward.',
      type: 'object',
      required: true,
      default: { '@path': '$.' },
    },
    enable_batching: {
      label: 'Batch events',
      description: 'Send batches as one signed JSON array (the source must be BODY FORMAT JSON ARRAY).',
      type: 'boolean',
      default: true,
    },
    batch_size: {
      label: 'Batch size',
      description: 'Largest batch to send at once.',
      type: 'number',
      default: 100,
      unsafe_hidden: true,
    },
  },
  perform: async (request, { payload, settings }) => {
    const delivery = settingsFor(settings, false);
    await deliverEvent(payload.event, delivery, runtime(request, delivery.timeoutMs));
  },
  performBatch: async (request, { payload, settings }) => {
    const events = payload.map((item) => item.event);
    const response = new MultiStatusResponse();
    let statuses;
    try {
      const delivery = settingsFor(settings, true);
      statuses = await deliverBatch(events, delivery, runtime(request, delivery.timeoutMs));
    } catch (error) {
      // Every event failed for one retryable reason: say so for each of them.
      if (!(error instanceof RetryableError)) throw error;
      statuses = events.map(() => ({ status: 500, errormessage: (error as Error).message }));
    }
    statuses.forEach((status, index) => {
      if (status.status === 200) response.setSuccessResponseAtIndex(index, { status: 200, sent: events[index] as never, body: 'delivered' });
      else
        response.setErrorResponseAtIndex(index, {
          status: status.status,
          errortype: status.status >= 500 ? 'RETRYABLE_ERROR' : 'PAYLOAD_VALIDATION_FAILED',
          errormessage: status.errormessage ?? `status ${status.status}`,
          sent: events[index] as never,
        });
    });
    return response;
  },
};

export default action;
