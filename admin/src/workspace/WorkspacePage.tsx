import { QuestionCircleOutlined } from '@ant-design/icons';
import { Button, Empty, Popover, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client';
import { useUser } from '../auth/AuthProvider';
import { ContactPanel } from '../contacts/ContactPanel';
import { sendKeyLabel } from './Composer';
import { ConversationList, isTyping } from './ConversationList';
import { ConversationView } from './ConversationView';
import './messages';
import { listQueryFor, useConversation, useMyProfile, useTeams, useWorkspaceLiveUpdates, type ListFilters, type ListTab } from './queries';
import './workspace.css';

const tabKey = 'hub.workspace.tab';

function useNarrow(limit = 900) {
  const [narrow, setNarrow] = useState(() => window.innerWidth < limit);
  useEffect(() => {
    const media = window.matchMedia(`(max-width: ${limit - 1}px)`);
    const onChange = () => setNarrow(media.matches);
    media.addEventListener('change', onChange);
    return () => media.removeEventListener('change', onChange);
  }, [limit]);
  return narrow;
}

function ShortcutsHelp() {
  const { t } = useTranslation('workspace');
  const rows: [string, string][] = [
    ['j / k, ↓ / ↑', t('shortcuts.move')],
    ['Enter', t('shortcuts.open')],
    ['Esc', t('shortcuts.back')],
    [sendKeyLabel, t('shortcuts.send')],
    ['Enter', t('shortcuts.newline')],
  ];
  return (
    <Popover
      trigger="click"
      title={t('shortcuts.title')}
      content={
        <dl className="ws-shortcuts">
          {rows.map(([keys, what]) => (
            <div key={what}>
              <dt>
                <kbd>{keys}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
      }
    >
      <Button type="text" size="small" icon={<QuestionCircleOutlined />} aria-label={t('shortcuts.button')} />
    </Popover>
  );
}

/**
 * The agent's workspace: the lists, the open conversation and who the customer is, side by side on
 * a desk's screen and one at a time on a phone. The URL names the open conversation, so a reload
 * or a link lands on it.
 */
export default function WorkspacePage() {
  const { t } = useTranslation('workspace');
  const user = useUser();
  const navigate = useNavigate();
  const { conversationId } = useParams();
  const narrow = useNarrow();
  const [showContact, setShowContact] = useState(false);
  const canSeeAll = user.role !== 'agent';
  const [tab, setTab] = useState<ListTab>(() => {
    const saved = localStorage.getItem(tabKey) as ListTab | null;
    return saved && (saved !== 'all' || canSeeAll) ? saved : 'mine';
  });
  const [filters, setFilters] = useState<ListFilters>({});
  const profile = useMyProfile();
  const allTeams = useTeams();
  const myTeams = useMemo(() => {
    const mine = new Set(profile.data?.teamIds ?? []);
    return (allTeams.data?.items ?? []).filter((team) => mine.has(team.id));
  }, [profile.data, allTeams.data]);
  const [chosenTeam, setChosenTeam] = useState<string>();
  const teamId = myTeams.find((team) => team.id === chosenTeam)?.id ?? myTeams[0]?.id;
  const channels = useQuery({
    queryKey: ['channels'],
    enabled: canSeeAll,
    queryFn: () => get<{ items: { id: string; name: string }[] }>('/channels'),
    staleTime: 300_000,
  });
  const query = useMemo(() => listQueryFor(tab, filters, user.id, teamId), [tab, filters, user.id, teamId]);
  const open = useConversation(conversationId);
  useWorkspaceLiveUpdates(conversationId);

  useEffect(() => setShowContact(false), [conversationId]);

  const chooseTab = (next: ListTab) => {
    localStorage.setItem(tabKey, next);
    setTab(next);
  };
  const openConversation = (id: string) => navigate(`/workspace/${id}`);
  const back = () => {
    if (showContact) setShowContact(false);
    else if (narrow) navigate('/workspace');
    else document.querySelector<HTMLElement>('.ws-list-scroll')?.focus();
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      // An open popup (select, modal) takes Esc for itself.
      if (document.querySelector('.ant-modal-wrap, .ant-select-dropdown:not(.ant-select-dropdown-hidden)')) return;
      if (isTyping(event.target)) (event.target as HTMLElement).blur();
      back();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const pane = !narrow ? 'all' : !conversationId ? 'list' : showContact ? 'contact' : 'conversation';
  const contactId = open.data?.contactId;

  return (
    <div className={`ws ws-pane-${pane}`}>
      <ConversationList
        extra={<ShortcutsHelp />}
        tab={tab}
        onTab={chooseTab}
        canSeeAll={canSeeAll}
        filters={filters}
        onFilters={setFilters}
        query={query}
        ready={tab !== 'teams' || !!teamId}
        teams={myTeams}
        teamId={teamId}
        onTeam={setChosenTeam}
        channels={channels.data?.items ?? []}
        openId={conversationId}
        onOpen={openConversation}
      />
      <main className="ws-main">
        {conversationId ? (
          <ConversationView conversationId={conversationId} narrow={narrow} onBack={back} onShowContact={() => setShowContact(true)} />
        ) : (
          <Empty className="ws-placeholder" description={<Typography.Text type="secondary">{t('selectConversation')}</Typography.Text>} />
        )}
      </main>
      {contactId && (
        <div className="ws-side">
          {narrow && (
            <Button type="link" onClick={() => setShowContact(false)} className="ws-side-back">
              ← {t('backToConversation')}
            </Button>
          )}
          <ContactPanel contactId={contactId} conversationId={conversationId} />
        </div>
      )}
    </div>
  );
}
