/**
 * Branded identifiers. A UID is not a sequence number, an account id is not a
 * mailbox id: mixing them is a compile error (HOUSE-STYLE: branded types).
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type DomainId = Brand<number, 'DomainId'>;
export type AccountId = Brand<number, 'AccountId'>;
export type AliasId = Brand<number, 'AliasId'>;
export type GroupId = Brand<number, 'GroupId'>;
export type MailboxId = Brand<number, 'MailboxId'>;
export type MessageId = Brand<number, 'MessageId'>;
export type BlobId = Brand<number, 'BlobId'>;
/** IMAP UID (RFC 9051 section 2.3.1.1): 1..2^32-1, strictly ascending per mailbox. */
export type Uid = Brand<number, 'Uid'>;
/** IMAP message sequence number (RFC 9051 section 2.3.1.2). Never stored. */
export type SeqNum = Brand<number, 'SeqNum'>;
/** Modification sequence (RFC 7162): per mailbox, strictly ascending. */
export type ModSeq = Brand<bigint, 'ModSeq'>;
/** UIDVALIDITY (RFC 9051 section 2.3.1.1): fixed at mailbox creation. */
export type UidValidity = Brand<number, 'UidValidity'>;
