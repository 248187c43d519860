import { desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { channelTypes } from '../channels/contract.js';
import type { Db } from '../db/client.js';
import { campaignTemplates, contacts } from '../db/schema.js';
import { notFound } from '../errors.js';
import { countSmsSegments } from '../messages/sms-segments.js';
import { parseInput } from '../validation.js';

export const templateInput = z.object({
  name: z.string().trim().min(1).max(200),
  channelType: z.enum(channelTypes),
  subject: z.string().trim().max(500).nullish(),
  body: z.string().trim().min(1).max(5_000),
});
export const templatePreviewInput = z.object({
  channelType: z.enum(channelTypes),
  subject: z.string().max(500).nullish(),
  body: z.string().max(5_000),
  contactId: z.uuid().optional(),
  /** Event data, as a trigger would pass it. */
  variables: z.record(z.string().max(64), z.string().max(1_000)).default({}),
});

/** `{{name}}`, `{{card_last4}}`, `{{name|客户}}` (a default for a missing value). */
const placeholder = /\{\{\s*([A-Za-z0-9_.]{1,64})\s*(?:\|([^}]{0,200}))?\}\}/g;

export interface TemplateContact {
  name: string | null;
  tier: string | null;
  language: string | null;
  attributes: Record<string, unknown>;
}

/**
 * Fills a template's placeholders: event data first, then the contact's name, tier and language,
 * then its attributes (`{{attributes.x}}` or just `{{x}}`). A missing value takes the placeholder's
 * default, else stays empty and is reported, so a preview shows what would go out.
 */
export function renderTemplate(text: string, contact: TemplateContact | undefined, variables: Record<string, string>) {
  const missing = new Set<string>();
  const rendered = text.replace(placeholder, (_, key: string, fallback: string | undefined) => {
    const value = lookup(key, contact, variables);
    if (value !== undefined && value !== '') return value;
    if (fallback === undefined) missing.add(key);
    return fallback?.trim() ?? '';
  });
  return { text: rendered, missing: [...missing] };
}

function lookup(key: string, contact: TemplateContact | undefined, variables: Record<string, string>): string | undefined {
  if (key in variables) return variables[key];
  if (!contact) return undefined;
  if (key === 'name' || key === 'tier' || key === 'language') return contact[key] ?? undefined;
  const attribute = contact.attributes[key.startsWith('attributes.') ? key.slice('attributes.'.length) : key];
  return attribute === null || attribute === undefined || typeof attribute === 'object' ? undefined : String(attribute);
}

/** The variables a template uses, for the editor to list. */
export function templateVariables(text: string): string[] {
  return [...new Set([...text.matchAll(placeholder)].map((m) => m[1]!))];
}

export async function loadTemplateContact(db: Db, contactId: string): Promise<TemplateContact> {
  const [contact] = await db
    .select({ name: contacts.name, tier: contacts.tier, language: contacts.language, attributes: contacts.attributes })
    .from(contacts)
    .where(eq(contacts.id, contactId));
  if (!contact) throw notFound('contact', contactId);
  return contact;
}

/** What the template would send to a contact (or with no contact, the defaults), with SMS segments. */
export async function previewTemplate(db: Db, input: unknown) {
  const parsed = parseInput(templatePreviewInput, input);
  const contact = parsed.contactId ? await loadTemplateContact(db, parsed.contactId) : undefined;
  const body = renderTemplate(parsed.body, contact, parsed.variables);
  const subject = parsed.subject ? renderTemplate(parsed.subject, contact, parsed.variables) : undefined;
  return {
    subject: subject?.text ?? null,
    body: body.text,
    missing: [...new Set([...body.missing, ...(subject?.missing ?? [])])],
    variables: templateVariables(`${parsed.subject ?? ''} ${parsed.body}`),
    ...(parsed.channelType === 'sms_twilio' ? { sms: countSmsSegments(body.text) } : {}),
  };
}

export async function createTemplate(db: Db, userId: string, input: unknown) {
  const parsed = parseInput(templateInput, input);
  const [row] = await db.insert(campaignTemplates).values({ ...parsed, subject: parsed.subject ?? null, createdBy: userId }).returning();
  return row!;
}

export async function updateTemplate(db: Db, id: string, input: unknown) {
  const parsed = parseInput(templateInput, input);
  const [row] = await db
    .update(campaignTemplates)
    .set({ ...parsed, subject: parsed.subject ?? null, updatedAt: sql`now()` })
    .where(eq(campaignTemplates.id, id))
    .returning();
  if (!row) throw notFound('template', id);
  return row;
}

export async function listTemplates(db: Db) {
  return { items: await db.select().from(campaignTemplates).orderBy(desc(campaignTemplates.createdAt)).limit(500) };
}

export async function getTemplate(db: Db, id: string) {
  const [row] = await db.select().from(campaignTemplates).where(eq(campaignTemplates.id, id));
  if (!row) throw notFound('template', id);
  return row;
}
