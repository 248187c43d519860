import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { agentPresences, agentProfiles, teams, users } from '../db/schema.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { parseInput } from '../validation.js';

export const createTeamInput = z.object({ name: z.string().trim().min(1).max(200) });

export async function createTeam(db: Db, actorUserId: string, input: unknown) {
  const { name } = parseInput(createTeamInput, input);
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(teams).values({ name }).onConflictDoNothing().returning();
    if (!row) throw conflict(`a team named ${name} already exists`);
    await recordAudit(tx, { actorUserId, action: 'team.create', targetType: 'team', targetId: row.id, details: { name } });
    return row;
  });
}

/** Renames a team; agents' memberships and rules keep pointing at it by id. */
export async function renameTeam(db: Db, actorUserId: string, id: string, input: unknown) {
  const { name } = parseInput(createTeamInput, input);
  return db.transaction(async (tx) => {
    const [before] = await tx.select({ name: teams.name }).from(teams).where(eq(teams.id, id)).for('update');
    if (!before) throw notFound('team', id);
    const [taken] = await tx.select({ id: teams.id }).from(teams).where(and(eq(teams.name, name), ne(teams.id, id)));
    if (taken) throw conflict(`a team named ${name} already exists`);
    const [row] = await tx.update(teams).set({ name }).where(eq(teams.id, id)).returning();
    await recordAudit(tx, { actorUserId, action: 'team.rename', targetType: 'team', targetId: id, details: { from: before.name, name } });
    return row!;
  });
}

export async function listTeams(db: Db) {
  return db.select().from(teams).orderBy(asc(teams.name));
}

const languageTag = z
  .string()
  .trim()
  .min(2)
  .max(35)
  .transform((tag) => primaryLanguage(tag)!);

export const agentProfileInput = z.object({
  skills: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
  /** Language tags; only the primary subtag counts (zh-CN and zh-HK both mean zh). */
  languages: z.array(languageTag).max(20).optional(),
  teamIds: z.array(z.uuid()).max(50).optional(),
  capacity: z.number().int().min(0).max(100).optional(),
  /** Lower limits for some channel types, e.g. { "wechat": 2 }; the overall capacity still applies. */
  channelCapacity: z.record(z.string().min(1).max(50), z.number().int().min(0).max(100)).optional(),
});

export const presenceInput = z.object({ presence: z.enum(agentPresences) });

/** zh-Hant-HK → zh. Routing matches agents to customers on the primary language only. */
export function primaryLanguage(tag: string | null | undefined): string | null {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return primary ? primary : null;
}

const profileColumns = {
  userId: agentProfiles.userId,
  name: users.name,
  email: users.email,
  role: users.role,
  presence: agentProfiles.presence,
  presenceChangedAt: agentProfiles.presenceChangedAt,
  skills: agentProfiles.skills,
  languages: agentProfiles.languages,
  teamIds: agentProfiles.teamIds,
  capacity: agentProfiles.capacity,
  channelCapacity: agentProfiles.channelCapacity,
  activeCount: agentProfiles.activeCount,
  channelLoad: agentProfiles.channelLoad,
  lastAssignedAt: agentProfiles.lastAssignedAt,
};

export async function listAgents(db: Db) {
  return db.select(profileColumns).from(agentProfiles).innerJoin(users, eq(users.id, agentProfiles.userId)).orderBy(asc(users.name));
}

export async function getAgent(db: Db, userId: string) {
  const [row] = await db.select(profileColumns).from(agentProfiles).innerJoin(users, eq(users.id, agentProfiles.userId)).where(eq(agentProfiles.userId, userId));
  if (!row) throw notFound('agent profile', userId);
  return row;
}

/**
 * The caller's own profile. A user nobody has set up for routing yet has none: they get what a
 * new profile starts with (the table's defaults), offline and without teams, instead of a 404.
 */
export async function getOwnAgentProfile(db: Db, userId: string) {
  const [user] = await db.select({ userId: users.id, name: users.name, email: users.email, role: users.role }).from(users).where(eq(users.id, userId));
  if (!user) throw notFound('user', userId);
  const [row] = await db.select(profileColumns).from(agentProfiles).innerJoin(users, eq(users.id, agentProfiles.userId)).where(eq(agentProfiles.userId, userId));
  return (
    row ?? {
      ...user,
      presence: 'offline' as const,
      presenceChangedAt: null,
      skills: [],
      languages: [],
      teamIds: [],
      capacity: agentProfiles.capacity.default as number,
      channelCapacity: {},
      activeCount: 0,
      channelLoad: {},
      lastAssignedAt: null,
    }
  );
}

/** Creates or updates a user's routing profile; fields left out keep their value. */
export async function upsertAgentProfile(db: Db, actorUserId: string, userId: string, input: unknown) {
  const profile = parseInput(agentProfileInput, input);
  return db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id, role: users.role }).from(users).where(eq(users.id, userId));
    if (!user) throw notFound('user', userId);
    if (user.role === 'marketer') throw badRequest('marketers do not take conversations; give the user the agent or supervisor role');
    if (profile.teamIds?.length) {
      const found = await tx.select({ id: teams.id }).from(teams).where(inArray(teams.id, profile.teamIds));
      const missing = profile.teamIds.filter((id) => !found.some((t) => t.id === id));
      if (missing.length) throw badRequest(`invalid request body: teamIds: no team ${missing.join(', ')}`);
    }
    await tx
      .insert(agentProfiles)
      .values({ userId, ...profile })
      .onConflictDoUpdate({ target: agentProfiles.userId, set: { ...profile, updatedAt: sql`now()` } });
    await recordAudit(tx, { actorUserId, action: 'agent_profile.update', targetType: 'user', targetId: userId, details: profile });
    return userId;
  });
}
