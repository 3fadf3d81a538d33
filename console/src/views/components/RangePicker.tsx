import { observer } from 'mobx-react-lite';
import { useState, type FormEvent } from 'react';
import { PRESETS, type RangeChoice } from '../../stores/range.ts';
import { TIME_ZONE } from '../format.ts';

const LABEL: Record<string, string> = { '15m': '15 min', '1h': '1 h', '6h': '6 h', '24h': '24 h', '7d': '7 d' };

/** `datetime-local` works in the viewer's zone; the API takes ISO-8601 with an offset. */
const toLocalInput = (iso: string): string => {
  const d = new Date(Date.parse(iso));
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (v: string): string => new Date(v).toISOString();

/** The shared time range: presets, or a custom window in the viewer's time zone. */
export const RangePicker = observer(({ value, onChange }: { value: RangeChoice; onChange: (r: RangeChoice) => void }) => {
  const [custom, setCustom] = useState(value.kind === 'custom');
  const [from, setFrom] = useState(value.kind === 'custom' ? toLocalInput(value.from) : toLocalInput(new Date(Date.now() - 3_600_000).toISOString()));
  const [to, setTo] = useState(value.kind === 'custom' ? toLocalInput(value.to) : toLocalInput(new Date().toISOString()));
  const apply = (e: FormEvent): void => {
    e.preventDefault();
    if (from !== '' && to !== '' && Date.parse(from) < Date.parse(to)) onChange({ kind: 'custom', from: fromLocalInput(from), to: fromLocalInput(to) });
  };
  return (
    <div className="range-picker" role="group" aria-label={`Time range (times in ${TIME_ZONE})`} data-testid="range-picker">
      {PRESETS.map((p) => (
        <button
          key={p}
          type="button"
          aria-pressed={value.kind === 'preset' && value.preset === p}
          data-range={p}
          onClick={() => {
            setCustom(false);
            onChange({ kind: 'preset', preset: p });
          }}
        >
          {LABEL[p]}
        </button>
      ))}
      <button type="button" aria-pressed={value.kind === 'custom' || custom} aria-expanded={custom} onClick={() => setCustom(!custom)}>
        custom
      </button>
      {custom && (
        <form className="custom-range" onSubmit={apply}>
          <label>
            from <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label>
            to <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          <button type="submit">apply</button>
        </form>
      )}
    </div>
  );
});
