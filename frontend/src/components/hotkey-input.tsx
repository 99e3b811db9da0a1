/** The class key a text field holds after an edit: the last digit 1–9 typed, else none. The
 * labeling page reads only 1–9 as class keys (S skips, Z undoes), and the API refuses others. */
export function hotkeyFromText(text: string): string {
  return text.match(/[1-9]/g)?.at(-1) ?? "";
}

/** A one-digit class key field that takes only 1–9 (empty = none, or the server's default). */
export function HotkeyInput({
  name,
  value,
  onChange,
  placeholder = "1–9",
}: {
  name: string;
  value: string;
  onChange: (hotkey: string) => void;
  placeholder?: string;
}) {
  return (
    <input
      name={name}
      value={value}
      onChange={(e) => onChange(hotkeyFromText(e.target.value))}
      onFocus={(e) => e.target.select()}
      className="hotkey-input"
      inputMode="numeric"
      pattern="[1-9]?"
      placeholder={placeholder}
      title="One digit from 1 to 9"
    />
  );
}
