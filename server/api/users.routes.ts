import { issueApiToken, issueApiTokenInput, listApiTokens, revokeApiToken } from '../../core/users/api-tokens.js';
import { getUser, listUsers, setPasswordInput, setUserPassword, updateUser, updateUserInput } from '../../core/users/user-admin.js';
import { createUser, createUserInput } from '../../core/users/users.js';
import { signInThrottle } from './auth.routes.js';
import { defineRoute, type ApiRoute } from './route.js';

const userView = '{ id, email, name, role, disabled, createdAt, updatedAt, lastSignInAt }';
const tokenView = '{ id, name, userId, userEmail, createdAt, lastUsedAt, revokedAt }';

export const userRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/users',
    summary: 'List users (password hashes are never returned)',
    tag: 'users',
    roles: ['admin'],
    responds: { status: 200, description: `{ items: ${userView}[] }` },
    handle: async ({ runtime }) => ({ items: await listUsers(runtime.database.db) }),
  }),
  defineRoute({
    method: 'get',
    path: '/users/:id',
    access: { none: 'admins only; admins see everything' },
    summary: 'Get a user',
    tag: 'users',
    roles: ['admin'],
    responds: { status: 200, description: userView },
    handle: ({ runtime, params }) => getUser(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'post',
    path: '/users',
    summary: 'Create a user; without a password they cannot sign in to the console (API tokens only) until one is set',
    tag: 'users',
    roles: ['admin'],
    body: createUserInput,
    responds: { status: 201, description: userView },
    fails: { 409: 'a user with this email already exists' },
    handle: async ({ runtime, user, body }) => {
      const created = await createUser(runtime.database.db, user.id, body);
      return getUser(runtime.database.db, created.id);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/users/:id',
    access: { none: 'admins only; admins see everything' },
    summary: "Rename, change the role of, disable or enable a user. A new role or disabling ends the user's sessions at once.",
    tag: 'users',
    roles: ['admin'],
    body: updateUserInput,
    responds: { status: 200, description: userView },
    fails: { 409: 'an admin cannot change their own role or disable themselves' },
    handle: ({ runtime, user, params, body }) => updateUser(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'post',
    path: '/users/:id/password',
    access: { none: 'admins only; admins see everything' },
    summary: "Set a user's password (at least 12 characters): their sessions end and a sign-in lock on the account is lifted",
    tag: 'users',
    roles: ['admin'],
    body: setPasswordInput,
    responds: { status: 200, description: userView },
    handle: ({ runtime, user, params, body }) => setUserPassword({ db: runtime.database.db, throttle: signInThrottle(runtime) }, user.id, params.id!, body),
  }),
];

export const apiTokenRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/api-tokens',
    summary: 'List API tokens, newest first, revoked ones included (the token itself is never shown again)',
    tag: 'users',
    roles: ['admin'],
    responds: { status: 200, description: `{ items: ${tokenView}[] }` },
    handle: async ({ runtime }) => ({ items: await listApiTokens(runtime.database.db) }),
  }),
  defineRoute({
    method: 'post',
    path: '/api-tokens',
    summary: 'Create an API token for a user; the answer holds the token, shown this once',
    tag: 'users',
    roles: ['admin'],
    body: issueApiTokenInput,
    responds: { status: 201, description: `${tokenView.slice(0, -2)}, token }` },
    fails: { 422: 'the user is disabled' },
    handle: ({ runtime, user, body }) => issueApiToken(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'post',
    path: '/api-tokens/:id/revoke',
    access: { none: 'admins only; admins see everything' },
    summary: 'Revoke an API token: the next request with it gets 401',
    tag: 'users',
    roles: ['admin'],
    responds: { status: 200, description: tokenView },
    handle: ({ runtime, user, params }) => revokeApiToken(runtime.database.db, user.id, params.id!),
  }),
];
