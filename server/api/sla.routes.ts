import { getConversationCsat, getCsatSettings, updateCsatSettings, updateCsatSettingsInput } from '../../core/csat/csat.js';
import { serviceReport, serviceReportCsv, serviceReportQuery } from '../../core/reports/service-report.js';
import { getConversationSla } from '../../core/sla/sla-clocks.js';
import {
  calendarInput,
  createCalendar,
  createPolicy,
  importCalendarYear,
  importDatesInput,
  listCalendars,
  listPolicies,
  policyInput,
  updateCalendar,
  updateCalendarInput,
  updatePolicy,
  updatePolicyInput,
} from '../../core/sla/sla-policies.js';
import { defineRoute, FileReply, staffRoles, type ApiRoute } from './route.js';

const admins = ['admin'] as const;
const managers = ['admin', 'supervisor'] as const;

export const slaRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/sla/calendars',
    summary: 'List business calendars',
    tag: 'sla',
    roles: managers,
    responds: { status: 200, description: '{ items: SlaCalendar[] }' },
    handle: async ({ runtime }) => ({ items: await listCalendars(runtime.database.db) }),
  }),
  defineRoute({
    method: 'post',
    path: '/sla/calendars',
    summary: 'Create a business calendar: time zone, opening periods per ISO weekday, holidays and make-up working days (调休)',
    tag: 'sla',
    roles: admins,
    body: calendarInput,
    responds: { status: 201, description: 'the SlaCalendar' },
    fails: { 409: 'a calendar with this name exists' },
    handle: async ({ runtime, user, body }) => createCalendar(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'patch',
    path: '/sla/calendars/:id',
    access: { none: 'admins only; configuration, not customer data' },
    summary: 'Change a business calendar',
    tag: 'sla',
    roles: admins,
    body: updateCalendarInput,
    responds: { status: 200, description: 'the SlaCalendar' },
    handle: async ({ runtime, user, params, body }) => updateCalendar(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'post',
    path: '/sla/calendars/:id/import',
    access: { none: 'admins only; configuration, not customer data' },
    summary: "Replace one year's holidays and make-up working days with the given lists of dates",
    tag: 'sla',
    roles: admins,
    body: importDatesInput,
    responds: { status: 200, description: 'the SlaCalendar' },
    handle: async ({ runtime, user, params, body }) => importCalendarYear(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'get',
    path: '/sla/policies',
    summary: 'List SLA policies',
    tag: 'sla',
    roles: managers,
    responds: { status: 200, description: '{ items: SlaPolicy[] }' },
    handle: async ({ runtime }) => ({ items: await listPolicies(runtime.database.db) }),
  }),
  defineRoute({
    method: 'post',
    path: '/sla/policies',
    summary: "Create an SLA policy (thresholds in seconds of business time, warning share, calendar, escalation); a routing rule's slaPolicy names it, the default applies otherwise",
    tag: 'sla',
    roles: admins,
    body: policyInput,
    responds: { status: 201, description: 'the SlaPolicy' },
    fails: { 409: 'a policy with this name exists' },
    handle: async ({ runtime, user, body }) => createPolicy(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'patch',
    path: '/sla/policies/:id',
    access: { none: 'admins only; configuration, not customer data' },
    summary: 'Change an SLA policy; clocks already running keep their due times',
    tag: 'sla',
    roles: admins,
    body: updatePolicyInput,
    responds: { status: 200, description: 'the SlaPolicy' },
    handle: async ({ runtime, user, params, body }) => updatePolicy(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'get',
    path: '/conversations/:id/sla',
    access: 'conversation',
    summary: "A conversation's SLA clocks (due times, remaining time, warnings and breaches) and its satisfaction survey",
    tag: 'sla',
    roles: staffRoles,
    responds: { status: 200, description: '{ conversationId, policy, clocks: [...], events: [...], csat }' },
    handle: async ({ runtime, params }) => {
      const db = runtime.database.db;
      return { ...(await getConversationSla(db, params.id!)), csat: await getConversationCsat(db, params.id!) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/csat/settings',
    summary: 'Satisfaction survey settings',
    tag: 'sla',
    roles: admins,
    responds: { status: 200, description: 'the CsatSettings' },
    handle: async ({ runtime }) => getCsatSettings(runtime.database.db),
  }),
  defineRoute({
    method: 'patch',
    path: '/csat/settings',
    summary: 'Change the satisfaction survey settings (enabled, windowHours, texts per language)',
    tag: 'sla',
    roles: admins,
    body: updateCsatSettingsInput,
    responds: { status: 200, description: 'the CsatSettings' },
    handle: async ({ runtime, user, body }) => updateCsatSettings(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'get',
    path: '/reports/service',
    summary: 'Service figures of the conversations opened in a period, per day, team, agent or channel: first response time (average, p50, p90), resolution rate, CSAT, SLA warnings and breaches',
    tag: 'reports',
    roles: managers,
    query: serviceReportQuery,
    responds: { status: 200, description: '{ groupBy, items: ServiceReportRow[] }' },
    handle: async ({ runtime, query }) => ({ groupBy: query.groupBy, items: await serviceReport(runtime.database.db, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/reports/service.csv',
    summary: 'The service report as CSV',
    tag: 'reports',
    roles: managers,
    query: serviceReportQuery,
    responds: { status: 200, description: 'text/csv' },
    handle: async ({ runtime, query }) => {
      const csv = serviceReportCsv(await serviceReport(runtime.database.db, query));
      return new FileReply(Buffer.from(csv, 'utf8'), 'text/csv; charset=utf-8', `service-report-${query.groupBy}.csv`);
    },
  }),
];
