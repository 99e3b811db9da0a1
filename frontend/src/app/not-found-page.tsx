import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <div className="page narrow">
      <h1>Page not found</h1>
      <p>
        <Link to="/projects">Back to your projects</Link>
      </p>
    </div>
  );
}
