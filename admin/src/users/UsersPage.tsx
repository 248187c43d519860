import { Card, Tabs, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import './messages';
import { TokensTab } from './TokensTab';
import { UsersTab } from './UsersTab';

export default function UsersPage() {
  const { t } = useTranslation('users');
  const [search, setSearch] = useSearchParams();
  const tab = search.get('tab') === 'tokens' ? 'tokens' : 'users';
  return (
    <Card
      title={
        <Typography.Title level={1} style={{ fontSize: 18, margin: 0 }}>
          {t('title')}
        </Typography.Title>
      }
    >
      <Tabs
        activeKey={tab}
        onChange={(key) => setSearch({ tab: key }, { replace: true })}
        items={[
          { key: 'users', label: t('tabs.users'), children: <UsersTab /> },
          { key: 'tokens', label: t('tabs.tokens'), children: <TokensTab /> },
        ]}
      />
    </Card>
  );
}
