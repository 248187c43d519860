export default function AgentsPage() {
  return <div>AgentsPage</div>;
}
