export default function RoutingPage() {
  return <div>RoutingPage</div>;
}
