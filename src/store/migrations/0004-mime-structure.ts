/**
 * 0004: messages.envelope and messages.bodystructure hold what IMAP FETCH
 * answers ENVELOPE, BODYSTRUCTURE, BODY[section], BINARY[section] and
 * BINARY.SIZE from, computed once at delivery and append by the streaming
 * MIME parser (src/mail/mime-structure.ts, stored by src/mail/mime-json.ts).
 *
 * The envelope was a decoded summary until now; it becomes the raw IMAP form
 * (RFC 9051 7.5.2 wants header values as written). Rows written before have
 * no bodystructure: their envelope is cleared too, so a reader finds both
 * NULL and parses the message instead.
 *
 * Offsets are into the blob, not into header_prefix || blob: the blob and its
 * structure are the same for every recipient, the prefix is not. A reader
 * adds length(header_prefix) to every offset, except that the message's own
 * header section starts at 0: the prefix lines (Delivered-To, Received, ...)
 * are part of the top-level header (BODY[HEADER] = header_prefix ||
 * blob[0, o[1])).
 */
export const sql = String.raw`
COMMENT ON COLUMN messages.envelope IS 'IMAP ENVELOPE (RFC 9051 7.5.2) in raw form, computed at delivery: {"date","subject","inReplyTo","messageId": header value as written (unfolded, encoded words kept) or null; "from","sender","replyTo","to","cc","bcc": null or [[name, adl, mailbox, host], ...]} where a group starts with [null,null,name,null] and ends with [null,null,null,null]; sender and replyTo already default to from. NULL: not computed (written before migration 0004); parse the message.';
COMMENT ON COLUMN messages.bodystructure IS 'MIME tree (RFC 2045/2046) for IMAP BODYSTRUCTURE, BODY[section], BINARY, computed at delivery. A part is {"o":[header start, body start, body end] octets into the blob (add length(header_prefix); the top-level header starts at 0 and includes header_prefix), "t":[type, subtype] as written, "p":[[name,value],...] Content-Type parameters (RFC 2231 continuations merged, charset values kept encoded under name*), "id","desc","enc","md5","loc": Content-ID, -Description, -Transfer-Encoding, -MD5, -Location as written, "disp":[type,[[name,value],...]], "lang":[tag,...], "n": line feeds in the body (text and message parts), "bin": decoded octets (base64 and quoted-printable leaves, BINARY.SIZE), "parts":[part,...] (multipart), "env": envelope as in messages.envelope and "msg": part (message/rfc822 and message/global), "x": flags (1 header cut at its limit, 2 multipart without close delimiter, 4 nested too deep, 8 too many parts, 16 metadata dropped)}; absent keys are empty. The top-level part also has "v": 1, the shape version. NULL: not computed; parse the message.';

UPDATE messages SET envelope = NULL WHERE bodystructure IS NULL;
`;
