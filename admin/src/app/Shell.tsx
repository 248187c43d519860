import { DownOutlined, LogoutOutlined, MenuOutlined, UserOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Badge, Button, Dropdown, Grid, Layout, Menu, Select, Space, Spin, Tooltip, Typography, type MenuProps } from 'antd';
import { Suspense, useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate } from 'react-router';
import { get, put } from '../api/client';
import { staffRoles } from '../api/types';
import { useAuth, useUser } from '../auth/AuthProvider';
import { useLiveFeed } from '../live/LiveFeed';
import { LanguageSwitch } from './LanguageSwitch';
import { screens } from './navigation';

const presences = ['online', 'busy', 'away', 'offline'] as const;
type Presence = (typeof presences)[number];
const presenceColor: Record<Presence, string> = { online: '#52c41a', busy: '#faad14', away: '#8c8c8c', offline: '#d9d9d9' };

/** The agent's own availability: online takes conversations from the queue, offline hands back unanswered ones. */
function PresenceSwitch({ compact }: { compact: boolean }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ['agents', 'me'], queryFn: () => get<{ presence: Presence }>('/agents/me') });
  const change = useMutation({
    mutationFn: (presence: Presence) => put('/agents/me/presence', { presence }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['agents'] }),
  });
  if (me.isError) return null;
  return (
    <Select<Presence>
      aria-label={t('presenceLabel')}
      size="small"
      style={{ width: compact ? 96 : 112 }}
      loading={me.isLoading || change.isPending}
      value={me.data?.presence}
      onChange={(presence) => change.mutate(presence)}
      options={presences.map((presence) => ({
        value: presence,
        label: <Badge color={presenceColor[presence]} text={t(`presence.${presence}`)} />,
      }))}
    />
  );
}

export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const user = useUser();
  const { signOut } = useAuth();
  const { connected } = useLiveFeed();
  const location = useLocation();
  const navigate = useNavigate();
  const [collapsed, setCollapsed] = useState(() => window.innerWidth < 900);
  // On a phone the menu folds away completely (a tab opens it) and the header keeps only icons.
  const phone = !Grid.useBreakpoint().md;
  const staff = staffRoles.includes(user.role);

  const items = useMemo<MenuProps['items']>(() => {
    const visible = screens.filter((screen) => screen.roles.includes(user.role) && screen.key !== 'account');
    const entry = (screen: (typeof screens)[number]) => ({ key: screen.key, icon: screen.icon, label: <Link to={screen.path}>{t(`nav.${screen.key}`)}</Link> });
    const top = visible.filter((screen) => !screen.group).map(entry);
    const groups = (['configuration', 'administration'] as const)
      .map((group) => ({ group, children: visible.filter((screen) => screen.group === group).map(entry) }))
      .filter(({ children }) => children.length)
      .map(({ group, children }) => ({ type: 'group' as const, key: group, label: t(`nav.${group}`), children }));
    return [...top, ...groups];
  }, [user.role, t]);

  const selected = screens.find((screen) => location.pathname === screen.path || location.pathname.startsWith(`${screen.path}/`))?.key;

  const userMenu: MenuProps = {
    items: [
      { key: 'account', icon: <UserOutlined />, label: t('changePassword') },
      { type: 'divider' },
      { key: 'signOut', icon: <LogoutOutlined />, label: t('signOut') },
    ],
    onClick: ({ key }) => {
      if (key === 'account') navigate('/account');
      if (key === 'signOut') void signOut();
    },
  };

  return (
    <Layout className="shell">
      <Layout.Sider
        collapsible
        trigger={phone ? null : undefined}
        collapsed={collapsed}
        onCollapse={setCollapsed}
        width={208}
        collapsedWidth={phone ? 0 : 80}
        breakpoint="lg"
        theme="light"
        className="shell-sider"
      >
        <div className="shell-brand" title={t('appName')}>
          <span className="shell-logo" aria-hidden>
            H
          </span>
          {!collapsed && <span>{t('appName')}</span>}
        </div>
        <nav aria-label={t('appName')}>
          <Menu mode="inline" selectedKeys={selected ? [selected] : []} items={items} onClick={() => phone && setCollapsed(true)} />
        </nav>
      </Layout.Sider>
      <Layout>
        {phone && !collapsed && <div className="shell-mask" aria-hidden onClick={() => setCollapsed(true)} />}
        <Layout.Header className="shell-header">
          {phone ? (
            <Button type="text" icon={<MenuOutlined />} aria-label={t('menu')} aria-expanded={!collapsed} onClick={() => setCollapsed((value) => !value)} />
          ) : (
            <span />
          )}
          <Space size={phone ? 'small' : 'middle'} wrap={false}>
            {staff && (
              <Tooltip title={connected ? t('live.connected') : t('live.reconnecting')}>
                <Badge status={connected ? 'success' : 'processing'} aria-label={connected ? t('live.connected') : t('live.reconnecting')} />
              </Tooltip>
            )}
            {staff && <PresenceSwitch compact={phone} />}
            <LanguageSwitch compact={phone} />
            <Dropdown menu={userMenu} trigger={['click']}>
              <Button type="text" aria-label={`${t('signedInAs')} ${user.name}`}>
                <Space>
                  <UserOutlined />
                  <span className="shell-user-name">{user.name}</span>
                  {!phone && <Typography.Text type="secondary">{t(`roles.${user.role}`)}</Typography.Text>}
                  <DownOutlined />
                </Space>
              </Button>
            </Dropdown>
          </Space>
        </Layout.Header>
        <Layout.Content className="shell-content" id="main">
          <Suspense fallback={<Spin className="page-spin" />}>{children}</Suspense>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
