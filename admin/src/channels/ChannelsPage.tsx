import { Result } from 'antd';
import { useTranslation } from 'react-i18next';
import { useLocation, useParams } from 'react-router';
import { useUser } from '../auth/AuthProvider';
import { ChannelDetail } from './ChannelDetail';
import { ChannelList } from './ChannelList';
import './messages';
import { NewChannel } from './NewChannel';

/** /channels, /channels/new and /channels/:channelId; supervisors see everything, only admins change anything. */
export default function ChannelsPage() {
  const { t } = useTranslation('channels');
  const user = useUser();
  const { channelId } = useParams();
  const { pathname } = useLocation();
  const canEdit = user.role === 'admin';
  if (pathname === '/channels/new') return canEdit ? <NewChannel /> : <Result status="403" title="403" subTitle={t('readOnly')} />;
  if (channelId) return <ChannelDetail key={channelId} channelId={channelId} canEdit={canEdit} />;
  return <ChannelList canEdit={canEdit} />;
}
