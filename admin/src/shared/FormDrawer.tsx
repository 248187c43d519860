import { Button, Drawer, Space } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * A drawer holding one form, with Cancel and Save at its foot (none when read-only). The drawer
 * is named by its title, so a screen reader announces what is being edited when it opens.
 */
export function FormDrawer({
  open,
  title,
  width = 560,
  saving,
  editable = true,
  onSave,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  width?: number;
  saving: boolean;
  editable?: boolean;
  onSave: () => void;
  onClose: () => void;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <Drawer
      open={open}
      onClose={onClose}
      title={title}
      aria-label={title}
      size={`min(${width}px, 100vw)`}
      destroyOnHidden
      footer={
        editable && (
          <Space style={{ justifyContent: 'flex-end', width: '100%' }}>
            <Button onClick={onClose}>{t('actions.cancel')}</Button>
            <Button type="primary" loading={saving} onClick={onSave}>
              {t('actions.save')}
            </Button>
          </Space>
        )
      }
    >
      {children}
    </Drawer>
  );
}
