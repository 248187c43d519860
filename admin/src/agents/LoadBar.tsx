import { Progress } from 'antd';
import { useTranslation } from 'react-i18next';
import './messages';

/** Active conversations against capacity; red once full, so a supervisor sees who has no room. */
export function LoadBar({ active, capacity }: { active: number; capacity: number }) {
  const { t } = useTranslation('agents');
  const percent = capacity > 0 ? Math.min(100, Math.round((active / capacity) * 100)) : 100;
  return (
    <Progress
      percent={percent}
      size="small"
      status={active >= capacity ? 'exception' : 'normal'}
      format={() => `${active}/${capacity}`}
      aria-label={t('loadOf', { active, capacity })}
      style={{ minWidth: 120, marginBottom: 0 }}
    />
  );
}
