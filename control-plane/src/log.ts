// One logging shape for every component: a function, so tests can capture lines and the CLI
// can print them as text (terminal) or JSON lines (PORTICO_LOG_FORMAT=json).
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function consoleLog(o: { level?: LogLevel; json?: boolean; component?: string } = {}): LogFn {
  const min = ORDER[o.level ?? "info"];
  return (level, msg, fields = {}) => {
    if (ORDER[level] < min) return;
    const all = o.component ? { component: o.component, ...fields } : fields;
    const line = o.json
      ? JSON.stringify({ time: new Date().toISOString(), level, msg, ...all })
      : `${new Date().toISOString()} ${level.padEnd(5)} ${msg}${
          Object.keys(all).length
            ? ` ${Object.entries(all)
                .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
                .join(" ")}`
            : ""
        }`;
    (ORDER[level] >= ORDER.warn ? process.stderr : process.stdout).write(`${line}\n`);
  };
}

export const silentLog: LogFn = () => undefined;
