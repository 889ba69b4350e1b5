import { ConfigError } from '@sicantik/config';
import { PRIVACY_TEST_ENV } from '../../../test/support';
import { readConfig } from './config';

////////// The planner's issue-16 settings: defaults, and a wrong value named with its problem

const env = { ADMIN_API_TOKEN: 'a-token-of-16-chars', ...PRIVACY_TEST_ENV };
const problems = (extra: Record<string, string>): string => {
  try { readConfig({ ...env, ...extra }); return ''; } catch (e) { if (e instanceof ConfigError) return e.message; throw e; }
};

describe('timing settings', () => {
  it('defaults: quiet hours 21:00-07:00 in Asia/Jakarta, Mon-Fri 08:00-16:00, the built-in holidays, 10/30 min coalescing', () => {
    const c = readConfig(env);
    expect([c.OFFICE_TIME_ZONE, c.QUIET_HOURS, c.WORKING_HOURS, c.STATUS_COALESCE_AFTER_MS, c.STATUS_COALESCE_MAX_MS]).toEqual(
      ['Asia/Jakarta', { start: 1260, end: 420 }, { days: [1, 2, 3, 4, 5], start: 480, end: 960 }, 600_000, 1_800_000]);
    expect(c.HOLIDAYS.find((h) => h.date === '2026-12-24')).toEqual({ date: '2026-12-24', name: 'Cuti bersama Kelahiran Yesus Kristus', kind: 'CUTI_BERSAMA' });
    expect(c.HOLIDAYS_EXTRA).toEqual([]);
    expect([c.URGENCY.status_update, c.URGENCY.consent_confirmation]).toEqual(['NORMAL', 'URGENT']);
  });
  it('off, replacements and overrides', () => {
    const c = readConfig({ ...env, QUIET_HOURS: 'off', WORKING_HOURS: 'off', HOLIDAYS: '2027-03-10=Idul Fitri 1448 H', URGENCY: 'approval_required=URGENT' });
    expect([c.QUIET_HOURS, c.WORKING_HOURS, c.HOLIDAYS, c.URGENCY.approval_required, c.URGENCY.permit_ready]).toEqual([null, null, [{ date: '2027-03-10', name: 'Idul Fitri 1448 H', kind: 'HOLIDAY' }], 'URGENT', 'NORMAL']);
  });
  it('a wrong value stops the start naming the variable and the problem', () => {
    expect(problems({ OFFICE_TIME_ZONE: 'WIB' })).toContain('OFFICE_TIME_ZONE');
    expect(problems({ QUIET_HOURS: '9pm-7am' })).toContain('"9pm-7am" is not HH:MM-HH:MM (or off)');
    expect(problems({ WORKING_HOURS: 'Fun-Fri 08:00-16:00' })).toContain('"fun-fri" is not a day or day range (Mon..Sun)');
    expect(problems({ HOLIDAYS_EXTRA: '2027-13-45' })).toContain('HOLIDAYS_EXTRA');
    expect(problems({ URGENCY: 'status_update=soon' })).toContain('"status_update=soon" is not scenario=URGENT or scenario=NORMAL');
    expect(problems({ STATUS_COALESCE_MAX_MS: '60000' })).toContain('must be at least STATUS_COALESCE_AFTER_MS');
  });
});
