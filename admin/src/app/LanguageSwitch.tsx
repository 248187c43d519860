import { Segmented } from 'antd';
import { useTranslation } from 'react-i18next';
import { chooseLanguage, type Language } from '../i18n';

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <Segmented<Language>
      aria-label={t('language')}
      size="small"
      value={i18n.language === 'en' ? 'en' : 'zh'}
      onChange={chooseLanguage}
      options={[
        { label: '中文', value: 'zh' },
        { label: 'English', value: 'en' },
      ]}
    />
  );
}
