/**
 * The shape of one row of the variable table (table.ts). A row says everything the loader, the
 * docs and the chart need to know about one environment variable; nothing about a variable is
 * written anywhere else except the cross-field rules in ../config.ts.
 */

/** Where the Helm chart takes a variable from (docs/configuration.md, column "Chart"). */
export type ChartExposure =
  /** A typed value (values.yaml / values.schema.json); `key` names it, with `note` for the details. */
  | { readonly value: string; readonly note?: string }
  /** Accepted in `gateway.env` (NAME: "value"); the generated schema enum lists exactly these. */
  | { readonly env: true }
  /** Set by the chart itself, never by the user (e.g. the pod name); `how` says from what. */
  | { readonly set: string }
  /** Meaningless in the chart's deployment; `why` says so in the docs. */
  | { readonly none: string };

interface Common {
  readonly name: string;
  /** Section heading in docs/configuration.md. */
  readonly group: string;
  /** One or two sentences of Markdown for the docs' "Meaning" column. */
  readonly description: string;
  readonly chart: ChartExposure;
  /** The docs' "Default" cell when the default is not a constant (derived from other variables, the host, …). */
  readonly defaultDoc?: string;
  /**
   * Set together with a variable that is unset (or 0/off): refused with "needs <that variable>".
   * Why: a setting that silently does nothing is a misconfiguration the operator wants to hear about.
   */
  readonly needs?: string;
  /** Never logged or put in a ConfigMap; the chart takes it from a Secret. */
  readonly secret?: boolean;
}

/** A whole number (digits only: no sign, exponent or hex) in [min, max]. */
export interface IntSpec extends Common {
  readonly kind: 'int';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
  /** Only for the docs: bytes get a "(20 MiB)" next to the number. */
  readonly unit?: 'bytes';
}

/** A non-negative decimal like 1.5, in [min, max]. */
export interface DecimalSpec extends Common {
  readonly kind: 'decimal';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}

/** `500ms`, `30s`, `5m`, `1h` or bare seconds; the value is milliseconds. */
export interface DurationSpec extends Common {
  readonly kind: 'duration';
  /** Milliseconds. */
  readonly default?: number;
  readonly minMillis: number;
  readonly maxMillis: number;
  /** The default as written in the docs, e.g. `1m`. */
  readonly defaultText: string;
}

/** on/off (also 1/0, true/false, yes/no), case-insensitive. */
export interface FlagSpec extends Common {
  readonly kind: 'flag';
  readonly default?: boolean;
}

/** One of a fixed list, case-sensitive. Without a default it is required. */
export interface EnumSpec extends Common {
  readonly kind: 'enum';
  readonly allowed: readonly string[];
  readonly default?: string;
}

/** Free text, trimmed. `check` returns a message (the variable's name is prepended) when the value is refused. */
export interface TextSpec extends Common {
  readonly kind: 'text';
  readonly default?: string;
  /** Applied before `check`. */
  readonly normalize?: (value: string) => string;
  readonly check?: (value: string) => string | undefined;
  /** For the docs' "Type" column when a plain "text" undersells it (e.g. "PEM"). */
  readonly typeDoc?: string;
}

/** An http(s) URL; trailing slashes are dropped. */
export interface UrlSpec extends Common {
  readonly kind: 'url';
}

/** An HTTP header name (RFC 9110 token), lower-cased because Node lower-cases incoming ones. */
export interface HeaderSpec extends Common {
  readonly kind: 'header';
  readonly default: string;
}

/** Comma-separated, items trimmed, empty items dropped; `check` sees each item. */
export interface ListSpec extends Common {
  readonly kind: 'list';
  readonly default?: readonly string[];
  readonly check?: (item: string) => string | undefined;
  /** Refuse a list that is empty after dropping blanks (e.g. ", ,") with this message. */
  readonly nonEmpty?: string;
}

/** A whole number in [min, max], or `auto` (resolved by the loader). */
export interface IntOrAutoSpec extends Common {
  readonly kind: 'intOrAuto';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export type VariableSpec = IntSpec | DecimalSpec | DurationSpec | FlagSpec | EnumSpec | TextSpec | UrlSpec | HeaderSpec | ListSpec | IntOrAutoSpec;

/** The parsed type of a row: what `readVariables` puts under its name. */
export type ParsedOf<S> = S extends { kind: 'int' | 'decimal' | 'duration' }
  ? number
  : S extends { kind: 'flag' }
    ? boolean
    : S extends { kind: 'enum'; allowed: readonly (infer A)[] }
      ? A
      : S extends { kind: 'list' }
        ? readonly string[]
        : S extends { kind: 'intOrAuto' }
          ? number | 'auto'
          : string;

/** Rows with a default (or a required enum) always have a value; the others may be undefined. */
export type ValueOf<S> = S extends { default: unknown } ? ParsedOf<S> : S extends { kind: 'enum' } ? ParsedOf<S> : ParsedOf<S> | undefined;
