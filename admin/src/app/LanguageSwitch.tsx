import { Segmented } from 'antd';
import { useTranslation } from 'react-i18next';
import { chooseLanguage, type Language } from '../i18n';

/** `compact` shows 中 / EN, for a phone's header. */
export function LanguageSwitch({ compact = false }: { compact?: boolean }) {
  const { t, i18n } = useTranslation();
  return (
    <Segmented<Language>
      aria-label={t('language')}
      size="small"
      value={i18n.language === 'en' ? 'en' : 'zh'}
      onChange={chooseLanguage}
      options={[
        { label: compact ? '中' : '中文', value: 'zh', title: '中文' },
        { label: compact ? 'EN' : 'English', value: 'en', title: 'English' },
      ]}
    />
  );
}
