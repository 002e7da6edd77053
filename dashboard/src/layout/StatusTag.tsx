import { Tag } from "antd";
import type { ReactNode } from "react";

/** Tones of status tags, with text dark enough on their tint for WCAG AA (antd's own
 * preset tag colours fall just short of 4.5:1). */
const TONES = {
  good: { color: "green", text: "#135200" },
  busy: { color: "blue", text: "#003eb3" },
  warn: { color: "orange", text: "#873800" },
  bad: { color: "red", text: "#a8071a" },
  none: { color: "default", text: undefined },
} as const;

export type Tone = keyof typeof TONES;

export function StatusTag({ tone, children, testId }: { tone: Tone; children: ReactNode; testId?: string }) {
  const t = TONES[tone];
  return (
    <Tag color={t.color} style={t.text ? { color: t.text } : undefined} data-testid={testId}>
      {children}
    </Tag>
  );
}
