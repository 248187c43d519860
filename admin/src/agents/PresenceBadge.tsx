import { Badge } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Presence } from './queries';

const presenceColor: Record<Presence, string> = { online: '#52c41a', busy: '#faad14', away: '#8c8c8c', offline: '#d9d9d9' };

/** An agent's presence as a coloured dot with its word, the same on the agents and supervisor screens. */
export function PresenceBadge({ presence }: { presence: Presence }) {
  const { t } = useTranslation();
  return <Badge color={presenceColor[presence]} text={t(`presence.${presence}`)} />;
}
