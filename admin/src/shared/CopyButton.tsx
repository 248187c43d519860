import { CheckOutlined, CopyOutlined } from '@ant-design/icons';
import { App, Button, Tooltip } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * Copies a value (a webhook URL, a new API token) with one click or key press; `label` names what
 * is copied for screen readers, since several copy buttons often sit on one screen.
 */
export function CopyButton({ value, label, text }: { value: string; label: string; text?: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2_000);
    return () => clearTimeout(timer);
  }, [copied]);
  // Promise.resolve first: outside a secure context `navigator.clipboard` is missing and would throw synchronously.
  const copy = () =>
    Promise.resolve()
      .then(() => navigator.clipboard.writeText(value))
      .then(
      () => setCopied(true),
      (error: Error) => void message.error(error.message),
    );
  return (
    <Tooltip title={copied ? t('actions.copied') : label}>
      <Button aria-label={label} icon={copied ? <CheckOutlined /> : <CopyOutlined />} onClick={() => void copy()}>
        {text ? (copied ? t('actions.copied') : t('actions.copy')) : null}
      </Button>
    </Tooltip>
  );
}
