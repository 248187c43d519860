import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { attachments } from '../db/schema.js';
import { notFound } from '../errors.js';

export interface StoredAttachment {
  id: string;
  contentType: string;
  fileName: string | null;
  size: number;
}

/**
 * Stores a file a message carries. Adapters call it from `normalize` with what they fetched
 * from the provider, and put the returned descriptor into the message payload's `attachments`.
 */
export async function storeAttachment(
  db: Db,
  file: { data: Buffer; contentType: string; fileName?: string | null; channelId?: string | null },
): Promise<StoredAttachment> {
  const [row] = await db
    .insert(attachments)
    .values({
      data: file.data,
      contentType: file.contentType,
      fileName: file.fileName ?? null,
      channelId: file.channelId ?? null,
      size: file.data.length,
      sha256: createHash('sha256').update(file.data).digest('hex'),
    })
    .returning({ id: attachments.id, contentType: attachments.contentType, fileName: attachments.fileName, size: attachments.size });
  return row!;
}

/** The content kind of a message that is only this file. */
export function contentKindOf(contentType: string | undefined): 'image' | 'audio' | 'video' | 'file' {
  const major = contentType?.split('/')[0];
  return major === 'image' || major === 'audio' || major === 'video' ? major : 'file';
}

export async function readAttachment(db: Db, id: string) {
  const [row] = await db.select().from(attachments).where(eq(attachments.id, id));
  if (!row) throw notFound('attachment', id);
  return row;
}
