export default function SupervisorPage() {
  return <div>SupervisorPage</div>;
}
