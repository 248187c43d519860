import { Result, Spin } from 'antd';
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes } from 'react-router';
import { useAuth } from '../auth/AuthProvider';
import { LoginPage } from '../auth/LoginPage';
import { LiveFeedProvider } from '../live/LiveFeed';
import { homePath, screens } from './navigation';
import { Shell } from './Shell';

function Forbidden() {
  const { t } = useTranslation();
  return <Result status="403" title="403" subTitle={t('forbidden')} />;
}

function NotFound() {
  const { t } = useTranslation();
  return <Result status="404" title="404" subTitle={t('notFound')} />;
}

/** A screen that throws shows what went wrong instead of a blank page, and the rest of the console keeps working. */
class ErrorBoundary extends Component<{ children: ReactNode; fallback: (error: Error) => ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(error, info.componentStack);
  }
  override render() {
    return this.state.error ? this.props.fallback(this.state.error) : this.props.children;
  }
}

function ScreenError({ error }: { error: Error }) {
  const { t } = useTranslation();
  return <Result status="error" title={t('errorTitle')} subTitle={error.message} />;
}

export function App() {
  const { user, checking } = useAuth();
  if (checking) return <Spin className="page-spin" size="large" />;
  if (!user) return <LoginPage />;
  return (
    <LiveFeedProvider>
      <Shell>
        <Routes>
          <Route path="/" element={<Navigate to={homePath(user.role)} replace />} />
          {screens.flatMap((screen) =>
            [screen.path, ...(screen.subPaths ?? [])].map((path) => (
              <Route
                key={path}
                path={path}
                element={
                  screen.roles.includes(user.role) ? (
                    <ErrorBoundary key={screen.key} fallback={(error) => <ScreenError error={error} />}>
                      <screen.page />
                    </ErrorBoundary>
                  ) : (
                    <Forbidden />
                  )
                }
              />
            )),
          )}
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Shell>
    </LiveFeedProvider>
  );
}
