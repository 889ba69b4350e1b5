import type { Holiday } from './timing';

////////// Indonesian public holidays and collective leave days (default list)
// The official list is set each year by a joint decree of three ministers (SKB 3 Menteri:
// Religious Affairs, Manpower, Administrative Reform). No holiday library gets it right:
// date-holidays 3.37 (checked) has Idul Fitri 2026 on 20-21 March (the SKB: 21-22 March),
// names 16 January 2026 (Isra Mikraj) "Maulid Nabi", and has no collective leave days at
// all. So the planner keeps a dated list here, replaced or extended by configuration
// (HOLIDAYS, HOLIDAYS_EXTRA: see the README).
//
// 2026: SKB No. 1497/2025, No. 2/2025, No. 5/2025 (17 holidays, 8 collective leave days).
// 2027: the SKB for 2027 was not found when this list was written; it holds only the dates
//   that are certain (fixed by law, or fixed by the calendar: Easter, Imlek). The lunar
//   holidays (Isra Mikraj, Idul Fitri, Idul Adha, 1 Muharam, Maulid), Nyepi, Waisak and
//   the collective leave days of 2027 must be added with HOLIDAYS_EXTRA once the SKB is out.

const H = (date: string, name: string): Holiday => ({ date, name, kind: 'HOLIDAY' });
const C = (date: string, name: string): Holiday => ({ date, name, kind: 'CUTI_BERSAMA' });

export const DEFAULT_HOLIDAYS: readonly Holiday[] = [
  // 2026: national holidays
  H('2026-01-01', 'Tahun Baru 2026 Masehi'),
  H('2026-01-16', 'Isra Mikraj Nabi Muhammad SAW'),
  H('2026-02-17', 'Tahun Baru Imlek 2577 Kongzili'),
  H('2026-03-19', 'Hari Suci Nyepi Tahun Baru Saka 1948'),
  H('2026-03-21', 'Idul Fitri 1447 H'),
  H('2026-03-22', 'Idul Fitri 1447 H'),
  H('2026-04-03', 'Wafat Yesus Kristus'),
  H('2026-04-05', 'Kebangkitan Yesus Kristus (Paskah)'),
  H('2026-05-01', 'Hari Buruh Internasional'),
  H('2026-05-14', 'Kenaikan Yesus Kristus'),
  H('2026-05-27', 'Idul Adha 1447 H'),
  H('2026-05-31', 'Hari Raya Waisak 2570 BE'),
  H('2026-06-01', 'Hari Lahir Pancasila'),
  H('2026-06-16', '1 Muharam Tahun Baru Islam 1448 H'),
  H('2026-08-17', 'Proklamasi Kemerdekaan'),
  H('2026-08-25', 'Maulid Nabi Muhammad SAW'),
  H('2026-12-25', 'Kelahiran Yesus Kristus'),
  // 2026: collective leave days (cuti bersama)
  C('2026-02-16', 'Cuti bersama Tahun Baru Imlek'),
  C('2026-03-18', 'Cuti bersama Hari Suci Nyepi'),
  C('2026-03-20', 'Cuti bersama Idul Fitri'),
  C('2026-03-23', 'Cuti bersama Idul Fitri'),
  C('2026-03-24', 'Cuti bersama Idul Fitri'),
  C('2026-05-15', 'Cuti bersama Kenaikan Yesus Kristus'),
  C('2026-05-28', 'Cuti bersama Idul Adha'),
  C('2026-12-24', 'Cuti bersama Kelahiran Yesus Kristus'),
  // 2027: the certain dates only (see above)
  H('2027-01-01', 'Tahun Baru 2027 Masehi'),
  H('2027-02-06', 'Tahun Baru Imlek 2578 Kongzili'),
  H('2027-03-26', 'Wafat Yesus Kristus'),
  H('2027-03-28', 'Kebangkitan Yesus Kristus (Paskah)'),
  H('2027-05-01', 'Hari Buruh Internasional'),
  H('2027-05-06', 'Kenaikan Yesus Kristus'),
  H('2027-06-01', 'Hari Lahir Pancasila'),
  H('2027-08-17', 'Proklamasi Kemerdekaan'),
  H('2027-12-25', 'Kelahiran Yesus Kristus'),
];

/** "2027-03-10=Idul Fitri 1448 H,2027-03-11=cuti:Cuti bersama Idul Fitri" -> holidays; a bare date is a holiday. */
export function parseHolidays(v: string): Holiday[] | Error {
  const out: Holiday[] = [];
  for (const item of v.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d{4}-\d{2}-\d{2})(?:=(cuti:)?(.*))?$/i.exec(item);
    if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) return new Error(`"${item}" is not yyyy-MM-dd[=name] or yyyy-MM-dd=cuti:name`);
    out.push({ date: m[1]!, name: (m[3] ?? '').trim() || 'hari libur', kind: m[2] ? 'CUTI_BERSAMA' : 'HOLIDAY' });
  }
  return out;
}

export const holidayMap = (list: readonly Holiday[]): ReadonlyMap<string, Holiday> => new Map(list.map((h) => [h.date, h]));
