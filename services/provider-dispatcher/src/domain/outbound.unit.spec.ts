import type { NotificationRendered } from '@sicantik/schemas';
import { defaultMetaTemplates, outboundMessage } from './outbound';

////////// The provider-neutral message from a rendered event: its generic fields only

const rendered = (over: Partial<NotificationRendered> = {}): NotificationRendered => ({
  eventId: 'r-1', occurredAt: 0, correlationId: 'c', causationId: 'q', notificationId: 'n-1', scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1,
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' }, outcome: 'RENDERED', text: 'Izin Anda telah terbit.',
  parameters: [{ name: 'nama_pemohon', value: 'Budi' }], language: 'id', failureReason: null, ...over,
});

describe('outboundMessage', () => {
  it('takes the language from the event and the template only as our code (each provider maps the code to its template)', () => {
    expect(outboundMessage(rendered({ language: 'en_US' }), { appendOptInLink: false })).toEqual({
      notificationId: 'n-1', toE164: '+6281234567890', text: 'Izin Anda telah terbit.', templateCode: 'permit_ready', parameters: [{ name: 'nama_pemohon', value: 'Budi' }], language: 'en_US',
    });
    expect(outboundMessage(rendered({ language: '' }), { appendOptInLink: false }).language).toBe('id');
  });

  it('Meta\'s template for a code comes from the mapping (the built-in default: each template\'s Meta twin), not from the event', () => {
    expect(JSON.parse(defaultMetaTemplates()).permit_ready).toEqual({ name: 'sicantik_permit_ready', language: 'id' });
  });
});
