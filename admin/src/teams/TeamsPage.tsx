export default function TeamsPage() {
  return <div>TeamsPage</div>;
}
