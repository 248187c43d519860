export default function DeadEventsPage() {
  return <div>DeadEventsPage</div>;
}
