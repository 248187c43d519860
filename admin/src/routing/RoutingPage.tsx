import { Card, Tabs } from 'antd';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth/AuthProvider';
import './messages';
import { RoutingSettingsForm } from './RoutingSettingsForm';
import { RulesTable } from './RulesTable';

export default function RoutingPage() {
  const { t } = useTranslation('routing');
  const { can } = useAuth();
  const editable = can('admin');
  return (
    <Card title={t('title')}>
      <Tabs
        items={[
          { key: 'rules', label: t('tabs.rules'), children: <RulesTable editable={editable} /> },
          { key: 'settings', label: t('tabs.settings'), children: <RoutingSettingsForm editable={editable} /> },
        ]}
      />
    </Card>
  );
}
