import { Card, Tabs } from 'antd';
import { useTranslation } from 'react-i18next';
import { AudiencesTab } from './AudiencesTab';
import { CampaignsTab } from './CampaignsTab';
import { TemplatesTab } from './TemplatesTab';
import './messages';

export default function CampaignsPage() {
  const { t } = useTranslation('campaigns');
  return (
    <Card title={t('title')}>
      <Tabs
        items={[
          { key: 'campaigns', label: t('tabs.campaigns'), children: <CampaignsTab /> },
          { key: 'audiences', label: t('tabs.audiences'), children: <AudiencesTab /> },
          { key: 'templates', label: t('tabs.templates'), children: <TemplatesTab /> },
        ]}
      />
    </Card>
  );
}
