/** Sign in with an API token: checked against /v1/me, then kept for this tab's session only. */
import { useState } from 'react';
import { getMe, token, type Me } from '../api';

export function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  return (
    <form
      className="signin"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const me = await getMe(value.trim());
          token.set(value.trim());
          onSignedIn(me);
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2>Sign in</h2>
      <p>An API token of cutover.config.yaml (auth.tokens). It stays in this tab until it closes.</p>
      <label>
        API token
        <input type="password" name="token" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" required autoFocus />
      </label>
      <button type="submit">Sign in</button>
      {error ? <p className="bad" role="alert">{error}</p> : null}
    </form>
  );
}
