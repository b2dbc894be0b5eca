/**
 * APPEND (RFC 9051 6.3.12), MULTIAPPEND (RFC 3502) and APPENDLIMIT (RFC
 * 7889), in two steps:
 *
 *  1. Each message literal is announced before its bytes come
 *     (appendLiteral): the reader has already refused one over APPENDLIMIT
 *     (NO [TOOBIG], no `+` sent, nothing read). Here, before the first one,
 *     the target mailbox must be the account's (else NO [TRYCREATE]: the
 *     client may CREATE it and retry), and each must fit the quota (NO
 *     [OVERQUOTA], RFC 9208 4.3). Accepted literals stream into upload
 *     sinks (append-upload.ts): memory while small, the database spool above.
 *  2. The parsed command (append) stores them all or none in one
 *     transaction (core/append-batch.ts) and answers, only after COMMIT,
 *     OK [APPENDUID uidvalidity uid-set] (UIDPLUS RFC 4315 3).
 *
 * \Recent in the flag list is ignored (no client may set it, RFC 3501 2.3.2).
 */
import { NotFoundError } from '../../../lib/errors.ts';
import { appendTarget, type AppendCommand, type LiteralRequest } from '../parser/index.ts';
import { CODE, appendUidCode } from '../responses.ts';
import type { UploadedMessage } from '../services.ts';
import { userOf } from '../state.ts';
import type { SessionApi } from './api.ts';

export interface Refusal {
  readonly status: 'NO' | 'BAD';
  readonly code?: string;
  readonly text: string;
}

/** Decides on an announced message literal: null to accept it (the upload then receives it), else the refusal. */
export async function appendLiteral(s: SessionApi, req: LiteralRequest): Promise<Refusal | null> {
  const user = userOf(s.state);
  if (!user) return { status: 'BAD', text: s.state.kind === 'notAuthenticated' ? 'Log in first' : 'Not now' };
  let upload = s.upload;
  if (upload && upload.tag !== req.tag) throw new Error('APPEND literal of another command while an upload is open');
  if (!upload) {
    const name = appendTarget(req.partial, { utf8: s.utf8 });
    if (name === null) return { status: 'BAD', text: 'Expected APPEND mailbox before the message' };
    const found = await s.services.findMailbox(user.id, name);
    if (!found) return { status: 'NO', code: CODE.TRYCREATE, text: 'No such mailbox' };
    upload = s.startUpload(req.tag, name, found);
  }
  if (req.size === 0) return { status: 'NO', code: CODE.CANNOT, text: 'Empty message' };
  if (await s.services.exceedsQuota({ accountId: user.id, quotaBytes: user.quotaBytes }, upload.announced + req.size)) {
    return { status: 'NO', code: CODE.OVERQUOTA, text: 'Mailbox is over its storage quota' };
  }
  upload.begin(s.services.openUpload(), req.size);
  return null;
}

export async function append(s: SessionApi, cmd: AppendCommand): Promise<void> {
  const user = userOf(s.state)!;
  const upload = s.takeUpload();
  if (upload?.failure !== undefined) {
    s.log.error({ err: upload.failure }, 'receiving an APPEND message failed');
    await upload.discard();
    return s.tagged(cmd.tag, 'NO', 'Could not store the message, try again later', CODE.UNAVAILABLE);
  }
  try {
    const uploads: UploadedMessage[] = [];
    for (const m of cmd.messages) {
      const message = m.data.kind === 'inline' ? m.data.bytes : upload?.message(m.data.ordinal);
      if (!message) throw new Error(`APPEND message ${m.data.kind === 'streamed' ? m.data.ordinal : '?'} was not received`);
      uploads.push({ message, flags: (m.flags ?? []).filter((f) => f !== '\\Recent'), ...(m.date ? { internalDate: m.date.date } : {}) });
    }
    if (uploads.some((u) => (Buffer.isBuffer(u.message) ? u.message.length : u.message.size) === 0)) {
      await upload?.discard();
      return s.tagged(cmd.tag, 'NO', 'Empty message', CODE.CANNOT);
    }
    const done = await s.services.appendMessages(user, upload?.found && upload.mailbox === cmd.mailbox ? upload.found : cmd.mailbox, uploads);
    s.tagged(cmd.tag, 'OK', 'APPEND completed', appendUidCode(done.uidValidity, done.uids));
  } catch (err) {
    await upload?.discard();
    // Deleted (or never there, for inline data) between the literal and now: the client may create it.
    if (err instanceof NotFoundError) return s.tagged(cmd.tag, 'NO', 'No such mailbox', CODE.TRYCREATE);
    throw err;
  }
}
