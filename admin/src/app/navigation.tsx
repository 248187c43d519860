import {
  AlertOutlined,
  ApiOutlined,
  ApartmentOutlined,
  BarChartOutlined,
  BookOutlined,
  FieldTimeOutlined,
  CustomerServiceOutlined,
  DashboardOutlined,
  KeyOutlined,
  NotificationOutlined,
  NodeIndexOutlined,
  TeamOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { lazy, type ComponentType, type LazyExoticComponent, type ReactNode } from 'react';
import { managerRoles, staffRoles, type Role } from '../api/types';

export interface Screen {
  /** The menu key and the i18n key under `nav.` */
  key: string;
  path: string;
  /** Further paths the same screen answers (e.g. one conversation or channel open). */
  subPaths?: string[];
  icon: ReactNode;
  roles: readonly Role[];
  group?: 'configuration' | 'administration';
  page: LazyExoticComponent<ComponentType>;
}

/**
 * Every screen of the console, who may open it and where it sits in the menu. Each area is its own
 * chunk, loaded when first opened: an agent's browser never downloads the admin screens' code.
 */
export const screens: Screen[] = [
  {
    key: 'workspace',
    path: '/workspace',
    subPaths: ['/workspace/:conversationId'],
    icon: <CustomerServiceOutlined />,
    roles: staffRoles,
    page: lazy(() => import('../workspace/WorkspacePage')),
  },
  {
    key: 'supervisor',
    path: '/supervisor',
    icon: <DashboardOutlined />,
    roles: managerRoles,
    page: lazy(() => import('../supervisor/SupervisorPage')),
  },
  {
    key: 'reports',
    path: '/reports',
    icon: <BarChartOutlined />,
    roles: managerRoles,
    page: lazy(() => import('../reports/ReportsPage')),
  },
  {
    key: 'campaigns',
    path: '/campaigns',
    icon: <NotificationOutlined />,
    roles: ['admin', 'marketer'],
    page: lazy(() => import('../campaigns/CampaignsPage')),
  },
  {
    key: 'kb',
    path: '/kb',
    icon: <BookOutlined />,
    roles: staffRoles,
    page: lazy(() => import('../kb/KbPage')),
  },
  {
    key: 'channels',
    path: '/channels',
    subPaths: ['/channels/new', '/channels/:channelId'],
    icon: <ApiOutlined />,
    roles: managerRoles,
    group: 'configuration',
    page: lazy(() => import('../channels/ChannelsPage')),
  },
  {
    key: 'teams',
    path: '/teams',
    icon: <ApartmentOutlined />,
    roles: managerRoles,
    group: 'configuration',
    page: lazy(() => import('../teams/TeamsPage')),
  },
  {
    key: 'agents',
    path: '/agents',
    icon: <TeamOutlined />,
    roles: managerRoles,
    group: 'configuration',
    page: lazy(() => import('../agents/AgentsPage')),
  },
  {
    key: 'routing',
    path: '/routing',
    icon: <NodeIndexOutlined />,
    roles: managerRoles,
    group: 'configuration',
    page: lazy(() => import('../routing/RoutingPage')),
  },
  {
    key: 'sla',
    path: '/sla',
    icon: <FieldTimeOutlined />,
    roles: managerRoles,
    group: 'configuration',
    page: lazy(() => import('../sla/SlaPage')),
  },
  {
    key: 'users',
    path: '/users',
    icon: <KeyOutlined />,
    roles: ['admin'],
    group: 'administration',
    page: lazy(() => import('../users/UsersPage')),
  },
  {
    key: 'operations',
    path: '/operations',
    icon: <AlertOutlined />,
    roles: ['admin'],
    group: 'administration',
    page: lazy(() => import('../operations/DeadEventsPage')),
  },
  {
    key: 'account',
    path: '/account',
    icon: <UserOutlined />,
    roles: ['admin', 'supervisor', 'agent', 'marketer'],
    page: lazy(() => import('../account/AccountPage')),
  },
];

/** Where a role lands after signing in. */
export function homePath(role: Role) {
  if (role === 'agent') return '/workspace';
  if (role === 'marketer') return '/campaigns';
  return '/supervisor';
}
