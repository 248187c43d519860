import { registerMessages } from '../i18n';

registerMessages('teams', {
  zh: {
    title: '团队',
    intro: '团队即排队队列：路由规则把会话分配到团队，团队内在线坐席按顺序接入。',
    create: '新建团队',
    rename: '重命名',
    renameOf: '重命名团队“{{name}}”',
    name: '团队名称',
    nameRequired: '请输入团队名称',
    members: '坐席人数',
    createdAt: '创建时间',
    actions: '操作',
    created: '团队已创建',
    renamed: '团队已重命名',
    adminOnly: '仅管理员可新建或重命名团队。',
  },
  en: {
    title: 'Teams',
    intro: 'Each team is a line in the queue: routing rules send conversations to a team, and its online agents take them in turn.',
    create: 'New team',
    rename: 'Rename',
    renameOf: 'Rename team “{{name}}”',
    name: 'Team name',
    nameRequired: 'Enter the team name',
    members: 'Agents',
    createdAt: 'Created',
    actions: 'Actions',
    created: 'Team created',
    renamed: 'Team renamed',
    adminOnly: 'Only admins create or rename teams.',
  },
});
