export type Role = 'admin' | 'supervisor' | 'agent' | 'marketer';

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface SessionAnswer {
  user: SessionUser;
  csrfToken?: string;
}

export const staffRoles: readonly Role[] = ['admin', 'supervisor', 'agent'];
export const managerRoles: readonly Role[] = ['admin', 'supervisor'];
