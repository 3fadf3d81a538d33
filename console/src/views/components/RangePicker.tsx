import { observer } from 'mobx-react-lite';
import { useState, type FormEvent } from 'react';
import { PRESET_MILLIS, PRESETS, rangeKey, type RangeChoice } from '../../stores/range.ts';
import { TIME_ZONE } from '../format.ts';

const LABEL: Record<string, string> = { '15m': '15 min', '1h': '1 h', '6h': '6 h', '24h': '24 h', '7d': '7 d' };

/** `datetime-local` works in the viewer's zone; the API takes ISO-8601 with an offset. */
const toLocalInput = (iso: string): string => {
  const d = new Date(Date.parse(iso));
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (v: string): string => new Date(v).toISOString();

/** What the custom inputs show for a range: its own ends, or a preset's window ending now. */
const inputsFor = (r: RangeChoice): { from: string; to: string } => {
  if (r.kind === 'custom') return { from: toLocalInput(r.from), to: toLocalInput(r.to) };
  const now = Date.now(); // one clock reading, so the window is exactly the preset's length
  return { from: toLocalInput(new Date(now - PRESET_MILLIS[r.preset]).toISOString()), to: toLocalInput(new Date(now).toISOString()) };
};

/** The shared time range: presets, or a custom window in the viewer's time zone. */
export const RangePicker = observer(({ value, onChange }: { value: RangeChoice; onChange: (r: RangeChoice) => void }) => {
  const [custom, setCustom] = useState(value.kind === 'custom');
  const [initial] = useState(() => inputsFor(value));
  const [from, setFrom] = useState(initial.from);
  const [to, setTo] = useState(initial.to);
  // The range also changes without this picker (a link, the back button, a hand-edited URL): the
  // inputs are local state, so they follow the range whenever it changes, during render (React's
  // pattern for state derived from a prop; an effect would paint the stale dates once first).
  const [shown, setShown] = useState(rangeKey(value));
  if (shown !== rangeKey(value)) {
    const next = inputsFor(value);
    setShown(rangeKey(value));
    setFrom(next.from);
    setTo(next.to);
    setCustom(value.kind === 'custom'); // as the buttons do: a preset closes the form, a custom range shows it
  }
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
      <button type="button" data-testid="range-custom" aria-pressed={value.kind === 'custom' || custom} aria-expanded={custom} onClick={() => setCustom(!custom)}>
        custom
      </button>
      {custom && (
        <form className="custom-range" onSubmit={apply}>
          <label>
            from <input type="datetime-local" data-testid="range-from" value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label>
            to <input type="datetime-local" data-testid="range-to" value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          <button type="submit">apply</button>
        </form>
      )}
    </div>
  );
});
