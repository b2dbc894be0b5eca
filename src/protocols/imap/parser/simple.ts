/**
 * Commands without arguments (RFC 9051 6.1.1-6.1.3, 6.2.1, 6.3.10, 6.3.13,
 * 6.4.1-6.4.3; CHECK: RFC 3501 6.4.1; NAMESPACE: RFC 2342 5, RFC 9051 6.3.10).
 * EXPUNGE is in expunge.ts (UID EXPUNGE takes a set).
 */
import type { Scanner } from './scanner.ts';

export const SIMPLE_COMMANDS = ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'NAMESPACE', 'IDLE', 'CLOSE', 'UNSELECT', 'CHECK'] as const;

export type SimpleCommandName = (typeof SIMPLE_COMMANDS)[number];

export interface SimpleCommand {
  readonly name: SimpleCommandName;
  readonly tag: string;
}

export function simpleCommand(name: SimpleCommandName) {
  return (s: Scanner, tag: string): SimpleCommand => {
    if (!s.atEnd()) s.fail(`${name} takes no arguments`);
    return { name, tag };
  };
}
