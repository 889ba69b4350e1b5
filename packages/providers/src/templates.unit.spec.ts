import fc from 'fast-check';
import { PROVIDER_NAMES } from './types';
import { allProviderParameters, defaultProviderTemplates, positionalValues, providerParameters, providerTemplateIssues, providerTemplatesOf, templateMappingFields } from './templates';

////////// Templates as each provider sees them (seed 004): parameter formats and template mappings

describe('seed 004: parameters converted per provider', () => {
  const params = [{ name: 'partner_name', value: 'Budi' }, { name: 'permit_number', value: '503/1' }, { name: 'expiry_date', value: '1 Maret 2027' }];
  it('Meta positional {{1}}.., Watzap {"1": ..}, Fonnte {"var1": ..}, the others positional', () => {
    expect(providerParameters('meta', params)).toEqual({ 1: 'Budi', 2: '503/1', 3: '1 Maret 2027' });
    expect(providerParameters('watzap', params)).toEqual({ 1: 'Budi', 2: '503/1', 3: '1 Maret 2027' });
    expect(providerParameters('twilio', params)).toEqual({ 1: 'Budi', 2: '503/1', 3: '1 Maret 2027' });
    expect(providerParameters('fonnte', params)).toEqual({ var1: 'Budi', var2: '503/1', var3: '1 Maret 2027' });
    expect(providerParameters('bird', params)).toEqual({ 1: 'Budi', 2: '503/1', 3: '1 Maret 2027' });
    expect(providerParameters('vonage', params)).toEqual({ 1: 'Budi', 2: '503/1', 3: '1 Maret 2027' });
    // One entry per provider of the one closed list.
    expect(Object.keys(allProviderParameters(params)).sort()).toEqual([...PROVIDER_NAMES].sort());
  });
  it('property: every positional format gives back the values in the template order, whatever their count', () => {
    fc.assert(fc.property(fc.array(fc.string(), { maxLength: 15 }), (values) => {
      const ps = values.map((value, i) => ({ name: `p${i}`, value }));
      for (const p of PROVIDER_NAMES) expect(positionalValues(providerParameters(p, ps))).toEqual(values);
    }));
  });
});

describe('template mappings', () => {
  it('a template nobody mapped gets Meta\'s twin sicantik_<code>; no other provider has a default', () => {
    expect(defaultProviderTemplates('permit_reminder')).toEqual({ meta: 'sicantik_permit_reminder' });
    expect(defaultProviderTemplates('meta_opt_in_request')).toEqual({ meta: 'sicantik_meta_opt_in_request' });
  });
  it('events written before providerTemplates: Meta\'s name from the deprecated metaTemplateName; providerTemplates wins when both are there', () => {
    expect(providerTemplatesOf({ metaTemplateName: 'sicantik_permit_ready' })).toEqual({ meta: 'sicantik_permit_ready' });
    expect(providerTemplatesOf({ providerTemplates: {}, metaTemplateName: '' })).toEqual({});
    expect(providerTemplatesOf({ providerTemplates: { meta: 'a_new', twilio: 'HX1' }, metaTemplateName: 'old' })).toEqual({ meta: 'a_new', twilio: 'HX1' });
    expect(providerTemplatesOf({ providerTemplates: { twilio: 'HX1' }, metaTemplateName: 'old' })).toEqual({ twilio: 'HX1', meta: 'old' });
  });
  it('written with the deprecated alias for older readers', () => {
    expect(templateMappingFields({ meta: 'x_y', twilio: 'HX1' })).toEqual({ providerTemplates: { meta: 'x_y', twilio: 'HX1' }, metaTemplateName: 'x_y' });
    expect(templateMappingFields({ twilio: 'HX1' })).toEqual({ providerTemplates: { twilio: 'HX1' }, metaTemplateName: '' });
  });
  it('issues: an unknown provider, a name the provider would refuse', () => {
    expect(providerTemplateIssues({ meta: 'sicantik_ok_1', twilio: 'anything' })).toEqual([]);
    expect(providerTemplateIssues({ meta: 'Not-Meta', whatsapp: 'x' })).toEqual([
      { path: 'providerTemplates.meta', message: 'Meta template names are lower-case letters, digits and _' },
      { path: 'providerTemplates.whatsapp', message: 'not a provider (one of meta, twilio, bird, vonage, fonnte, watzap)' },
    ]);
  });
});
